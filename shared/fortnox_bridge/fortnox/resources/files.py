"""The Fortnox resources whose models are in ``fortnox/models/files.py``."""

from fortnox_bridge.fortnox.models.files import Attachment, AttachmentWrite, InboxFile, InboxFolder
from fortnox_bridge.fortnox.resources.base import Resource, unwrap


class Inbox(Resource):
    def upload(self, name: str, content: bytes, *, folder: str = "inbox_kf") -> InboxFile:
        """Upload a file to an inbox folder; invoices take ``inbox_kf``."""
        body = self._http.request(
            "POST",
            "/3/inbox",
            params={"path": folder},
            files={"file": (name, content, "application/pdf")},
            idempotent=False,
        )
        return unwrap(body, "File", InboxFile, "POST /3/inbox")

    def folder(self, folder: str = "inbox_kf") -> InboxFolder:
        """The files in an inbox folder: where an upload whose answer was lost or a 5xx can be looked for."""
        body = self._http.request("GET", f"/3/inbox/{folder}", idempotent=True)
        return unwrap(body, "Folder", InboxFolder, f"GET /3/inbox/{folder}")

    def content(self, file_id: str) -> bytes:
        """A file's bytes, by its inbox id (not its archive file id)."""
        content: bytes = self._http.request("GET", f"/3/inbox/{file_id}", idempotent=True, binary=True)
        return content


class FileAttachments(Resource):
    _PATH = "/api/fileattachments/attachments-v1"

    def attach(self, attachments: list[AttachmentWrite]) -> list[Attachment]:
        body = self._http.request(
            "POST", self._PATH, body=[item.to_fortnox() for item in attachments], idempotent=False
        )
        rows = body if isinstance(body, list) else [body]
        return [Attachment.model_validate(row) for row in rows]

    def for_entity(self, entity_id: int, entity_type: str) -> list[Attachment]:
        body = self._http.request(
            "GET", self._PATH, params={"entityid": entity_id, "entitytype": entity_type}, idempotent=True
        )
        rows = body if isinstance(body, list) else []
        return [Attachment.model_validate(row) for row in rows]
