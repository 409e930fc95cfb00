"""Inbox uploads and the fileattachments service (which speaks camelCase, unlike /3/)."""

from typing import Literal

from pydantic import Field

from fortnox_bridge.fortnox.models.base import FortnoxRead, FortnoxWrite, LenientBool, LenientInt, LenientStr

EntityTypeCode = Literal["OF", "O", "F", "C", "LGR_IO", "LGR_IG"]
"""F is a customer invoice, O an order, OF an offer."""


class InboxFile(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    Id: LenientStr = None
    ArchiveFileId: LenientStr = None
    Name: LenientStr = None
    Path: LenientStr = None
    Size: LenientInt = None
    Comments: LenientStr = None


class InboxFolder(FortnoxRead):
    """An inbox folder and its files. A file row has no date: an upload is recognised by its name and size."""

    Id: LenientStr = None
    Name: LenientStr = None
    Files: list[InboxFile] = Field(default_factory=list)


class Attachment(FortnoxRead):
    id: LenientStr = None
    entityId: LenientInt = None
    entityType: LenientStr = None
    fileId: LenientStr = None
    includeOnSend: LenientBool = None


class AttachmentWrite(FortnoxWrite):
    entityId: int
    entityType: EntityTypeCode
    fileId: str
    includeOnSend: bool = False
