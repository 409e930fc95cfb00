"""Files: inbox upload (/3/inbox) and file attachments (/api/fileattachments) with Fortnox's size and type limits."""

import uuid

from werkzeug.wrappers import Response

from fortnox_sandbox import codes
from fortnox_sandbox.errors import ApiError, AttachmentError
from fortnox_sandbox.http_util import (
    ApiContext,
    ApiRoute,
    host,
    json_response,
    one,
    public,
    read_json,
    url,
)
from fortnox_sandbox.records import touch
from fortnox_sandbox.state import Company, Record, SandboxState

INBOX_FOLDERS = {
    "inbox_kf",
    "inbox_o",
    "inbox_of",
    "inbox_v",
    "inbox_s",
    "inbox_d",
    "inbox_a",
    "inbox_b",
    "inbox_l",
}
ATTACHABLE_FOLDERS = {"inbox_kf", "inbox_o", "inbox_of"}
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 15 * 1024 * 1024
MAX_INCLUDED_ON_SEND = 5


def upload(
    state: SandboxState,
    company: Company,
    folder: str,
    name: str,
    content: bytes,
    content_type: str,
    *,
    host: str,
) -> Record:
    if folder not in INBOX_FOLDERS:
        raise ApiError(codes.INVALID_PARAMETER, field="path")
    file_id = str(uuid.uuid4())
    archive_id = str(uuid.uuid4())
    record: Record = {
        "@url": f"{host}/3/inbox/{file_id}",
        "Id": file_id,
        "ArchiveFileId": archive_id,
        "Name": name,
        "Path": f"{folder}/{name}",
        "Size": len(content),
        "Comments": None,
        "_folder": folder,
        "_content": content,
        "_pdf": content.startswith(b"%PDF") and content_type in {"application/pdf", "application/octet-stream"},
    }
    company.inbox[archive_id] = touch(state, record)
    return record


def _entity_exists(company: Company, entity_id: int, entity_type: str) -> bool:
    if entity_type == "F":
        return str(entity_id) in company.invoices
    if entity_type == "O":
        return str(entity_id) in company.orders
    return False


def attach(state: SandboxState, company: Company, requested: list[Record]) -> list[Record]:
    if not requested:
        raise AttachmentError("no_attachment_provided", "No attachment provided")
    created = []
    for item in requested:
        for field in ("entityId", "entityType", "fileId"):
            if item.get(field) in (None, ""):
                raise AttachmentError("missing_mandatory_field", f"Missing mandatory field: {field}")
        entity_type = str(item["entityType"])
        entity_id = int(item["entityId"])
        file = company.inbox.get(str(item["fileId"])) or next(
            (row for row in company.inbox.values() if row["Id"] == str(item["fileId"])), None
        )
        if file is None:
            raise AttachmentError("file_not_found", "File not found", 404)
        if not _entity_exists(company, entity_id, entity_type):
            raise AttachmentError("document_not_found", "Document not found", 404)
        if file["_folder"] not in ATTACHABLE_FOLDERS:
            raise AttachmentError("wrong_file_location", "Only files in inbox_kf, inbox_o or inbox_of can be attached")
        if not file["_pdf"]:
            raise AttachmentError("wrong_file_type", "Only PDF files can be attached")
        if file["Size"] > MAX_FILE_BYTES:
            raise AttachmentError("file_too_big", "A file may be at most 5 MB")
        existing = [
            row
            for row in company.attachments.values()
            if row["entityId"] == entity_id and row["entityType"] == entity_type
        ]
        included = [row for row in existing if row["includeOnSend"]]
        if item.get("includeOnSend") and len(included) >= MAX_INCLUDED_ON_SEND:
            raise AttachmentError(
                "attachment_files_max_count_exceeded", "At most 5 attachments can be included on send"
            )
        total = sum(company.inbox[row["fileId"]]["Size"] for row in existing if row["fileId"] in company.inbox)
        if total + file["Size"] > MAX_TOTAL_BYTES:
            raise AttachmentError("attachment_files_max_size_exceeded", "Attachments may be at most 15 MB in total")
        attachment = {
            "id": str(uuid.uuid4()),
            "entityId": entity_id,
            "entityType": entity_type,
            "fileId": file["ArchiveFileId"],
            "includeOnSend": bool(item.get("includeOnSend", False)),
        }
        company.attachments[attachment["id"]] = attachment
        created.append(attachment)
    return created


# -- routes --------------------------------------------------------------------------------------------------------
def _upload_inbox(ctx: ApiContext) -> Response:
    part = ctx.request.files.get("file")
    if part is None:
        raise ApiError(codes.EMPTY_BODY)
    content = part.read()
    record = upload(
        ctx.state,
        ctx.company,
        ctx.arg("path") or "inbox_kf",
        part.filename or "file",
        content,
        part.mimetype or "application/octet-stream",
        host=host(ctx),
    )
    return one("File", record, 201)


def _inbox_item(ctx: ApiContext, item: str) -> Response:
    """A folder (``inbox_kf``, ...) with its files, or a file's content by its id: the folder ids are what the
    root listing gives, and a file row carries no date, so a caller recognises its own upload by name and size
    (spec: fortnox_Folder_Wrap; noxctl 0.13.0 lists folders so). The folder's ``Name`` is its id here: Fortnox's
    display names are not recorded."""
    if item in INBOX_FOLDERS:
        files = [public(row) for row in ctx.company.inbox.values() if row["_folder"] == item]
        folder = {"@url": url(ctx, f"/3/inbox/{item}"), "Id": item, "Name": item, "Files": files, "Folders": []}
        return json_response({"Folder": folder})
    found = next((row for row in ctx.company.inbox.values() if row["Id"] == item), None)
    if found is None:
        raise ApiError(codes.RESOURCE_NOT_FOUND)
    return Response(found["_content"], content_type="application/octet-stream", headers={"Server": "Fortnox"})


def _attach_files(ctx: ApiContext) -> Response:
    body = read_json(ctx.request)
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise AttachmentError("no_attachment_provided", "The body must be a list of attachments")
    created = attach(ctx.state, ctx.company, body)
    return json_response(created[0] if len(created) == 1 else created, 201)


def _list_attachments(ctx: ApiContext) -> Response:
    entity_type = ctx.arg("entitytype")
    ids = {int(value) for value in ctx.request.args.getlist("entityid") if value.isdigit()}
    if entity_type is None or not ids:
        raise AttachmentError("missing_mandatory_field", "entityid and entitytype are required")
    rows = [
        row for row in ctx.company.attachments.values() if row["entityType"] == entity_type and row["entityId"] in ids
    ]
    return json_response(rows)


ROUTES: list[ApiRoute] = [
    ApiRoute("POST", "/3/inbox", "inbox", _upload_inbox, multipart=True),
    ApiRoute("GET", "/3/inbox/<item>", "inbox", _inbox_item),
    ApiRoute("POST", "/api/fileattachments/attachments-v1", "connectfile", _attach_files),
    ApiRoute("GET", "/api/fileattachments/attachments-v1", "connectfile", _list_attachments),
]
