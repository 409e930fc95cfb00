"""Projects (/3/projects): list and get from the company's project register."""

from werkzeug.wrappers import Response

from fortnox_sandbox import codes
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.http_util import ApiContext, ApiRoute, json_response, url
from fortnox_sandbox.listing import page


# -- routes --------------------------------------------------------------------------------------------------------
def _list_projects(ctx: ApiContext) -> Response:
    fields = ("Description", "EndDate", "ProjectLeader", "ProjectNumber", "StartDate", "Status")
    rows = [
        {"@url": url(ctx, f"/3/projects/{number}"), **{field: row[field] for field in fields}}
        for number, row in sorted(ctx.company.projects.items())
    ]
    return page(ctx, "Projects", rows)


def _get_project(ctx: ApiContext, number: str) -> Response:
    row = ctx.company.projects.get(number)
    if row is None:
        raise ApiError(codes.PROJECT_NOT_FOUND)
    return json_response({"Project": {"@url": url(ctx, f"/3/projects/{number}"), **row}})


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/3/projects", "project", _list_projects),
    ApiRoute("GET", "/3/projects/<number>", "project", _get_project),
]
