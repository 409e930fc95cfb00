"""Projects (/3/projects): the company's project register, which rows and vouchers name in ``Project``.

Shapes and defaults follow accodeing/fortnox-api's recordings (spec/vcr_cassettes/projects/*.yml): save_new for
create (only Description is needed; Status defaults to ONGOING, unset texts and dates are null), save_old for a
partial update, find_failure for 2001161, all for list items.
"""

from werkzeug.wrappers import Response

from fortnox_sandbox import codes
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.http_util import ApiContext, ApiRoute, check_length, json_response, url, wrapped
from fortnox_sandbox.listing import page
from fortnox_sandbox.records import parse_date, touch
from fortnox_sandbox.state import Company, Record, SandboxState

PROJECT_LIMITS = {"ProjectNumber": 20, "Description": 50, "ProjectLeader": 50, "ContactPerson": 50, "Comments": 512}
PROJECT_STATUSES = ("NOTSTARTED", "ONGOING", "COMPLETED")
# The key order of a recorded project (find_id_1.yml) and of a recorded list item (all.yml).
PROJECT_KEYS = (
    "Comments",
    "ContactPerson",
    "Description",
    "EndDate",
    "ProjectLeader",
    "ProjectNumber",
    "Status",
    "StartDate",
)
LIST_KEYS = ("Description", "EndDate", "ProjectLeader", "ProjectNumber", "Status", "StartDate")


def _check_project(payload: Record) -> Record:
    check_length(payload, PROJECT_LIMITS)
    if payload.get("Status") not in (None, *PROJECT_STATUSES):
        raise ApiError(codes.INVALID_VALUE, field="Status")
    values = {key: value for key, value in payload.items() if key != "@url"}
    for field in ("StartDate", "EndDate"):
        if values.get(field) not in (None, ""):
            values[field] = parse_date(values[field], field).isoformat()
        elif field in values:
            values[field] = None
    if values.get("ProjectNumber") is not None:
        values["ProjectNumber"] = str(values["ProjectNumber"])
    return values


def _next_project_number(company: Company) -> str:
    # Fortnox numbers projects 1, 2, ... (all.yml, save_new.yml); hand-chosen non-numeric numbers do not count.
    numeric = [int(number) for number in company.projects if number.isdigit()]
    return str(max(numeric, default=0) + 1)


def create_project(state: SandboxState, company: Company, payload: Record) -> Record:
    if not str(payload.get("Description") or "").strip():
        raise ApiError(codes.FIELD_REQUIRED, field="Description")
    values = _check_project(payload)
    number = str(values.get("ProjectNumber") or "").strip()
    if number and number in company.projects:
        raise ApiError(codes.PROJECT_NUMBER_USED, number=number)
    number = number or _next_project_number(company)
    project = {
        "ProjectNumber": number,
        "Description": "",
        "Status": "ONGOING",
        "StartDate": None,
        "EndDate": None,
        "ProjectLeader": None,
        "ContactPerson": None,
        "Comments": None,
        **values,
    }
    project["ProjectNumber"] = number
    company.projects[number] = touch(state, project)
    return project


def update_project(state: SandboxState, company: Company, number: str, payload: Record) -> Record:
    """PUT changes only the fields sent (save_old.yml sends only Comments); the number cannot change."""
    project = company.projects.get(number)
    if project is None:
        raise ApiError(codes.PROJECT_NOT_FOUND)
    values = _check_project(payload)
    if values.get("ProjectNumber") not in (None, number):
        raise ApiError(codes.INVALID_VALUE, field="ProjectNumber")
    if "Description" in values and not str(values["Description"] or "").strip():
        raise ApiError(codes.FIELD_REQUIRED, field="Description")
    project.update(values)
    return touch(state, project)


def project_body(ctx: ApiContext, project: Record, keys: tuple[str, ...] = PROJECT_KEYS) -> Record:
    return {"@url": url(ctx, f"/3/projects/{project['ProjectNumber']}"), **{key: project.get(key) for key in keys}}


# -- routes --------------------------------------------------------------------------------------------------------
def _by_number(number: str) -> tuple[int, int, str]:
    return (0, int(number), "") if number.isdigit() else (1, 0, number)


def _list_projects(ctx: ApiContext) -> Response:
    # The spec lists no search parameters for projects; paging is all a list takes.
    rows = sorted(ctx.company.projects.values(), key=lambda row: _by_number(row["ProjectNumber"]))
    return page(ctx, "Projects", [project_body(ctx, row, LIST_KEYS) for row in rows])


def _get_project(ctx: ApiContext, number: str) -> Response:
    project = ctx.company.projects.get(number)
    if project is None:
        raise ApiError(codes.PROJECT_NOT_FOUND)
    return json_response({"Project": project_body(ctx, project)})


def _create_project(ctx: ApiContext) -> Response:
    project = create_project(ctx.state, ctx.company, wrapped(ctx.request, "Project"))
    response = json_response({"Project": project_body(ctx, project)}, 201)
    response.headers["Location"] = "project"  # as recorded in save_new.yml
    return response


def _update_project(ctx: ApiContext, number: str) -> Response:
    project = update_project(ctx.state, ctx.company, number, wrapped(ctx.request, "Project"))
    return json_response({"Project": project_body(ctx, project)})


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/3/projects", "project", _list_projects),
    ApiRoute("POST", "/3/projects", "project", _create_project),
    ApiRoute("GET", "/3/projects/<number>", "project", _get_project),
    ApiRoute("PUT", "/3/projects/<number>", "project", _update_project),
]
