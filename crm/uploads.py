"""Which files the archive keeps, told by their content (magic bytes), never by their name.

An archive keeps documents: PDF; images (JPEG, PNG, TIFF, GIF, BMP, WebP); Office files, both
OOXML (.docx/.xlsx/.pptx: a zip holding `[Content_Types].xml` and its part) and the legacy
OLE2 compound files (.doc/.xls/.ppt); and OFD (China's fixed-layout format: a zip holding
`OFD.xml`). Anything else — an .exe renamed .pdf, a script, an archive of other files — is
refused with a field error before a byte is written. The size of a request is bounded by
Flask's MAX_CONTENT_LENGTH (setting CRM_MAX_UPLOAD_MB), answered with 413.
"""

import zipfile
from pathlib import PurePosixPath

from flask_babel import lazy_gettext as _l

from crm.errors import DomainError

# kind -> the suffix a stored file of that kind gets, and the suffixes a name may carry
KINDS = {
    "pdf": (".pdf", {".pdf"}),
    "jpeg": (".jpg", {".jpg", ".jpeg", ".jpe", ".jfif"}),
    "png": (".png", {".png"}),
    "tiff": (".tif", {".tif", ".tiff"}),
    "gif": (".gif", {".gif"}),
    "bmp": (".bmp", {".bmp"}),
    "webp": (".webp", {".webp"}),
    "docx": (".docx", {".docx", ".docm", ".dotx"}),
    "xlsx": (".xlsx", {".xlsx", ".xlsm", ".xltx"}),
    "pptx": (".pptx", {".pptx", ".pptm", ".ppsx"}),
    "ole2": (".doc", {".doc", ".xls", ".ppt", ".dot", ".xlt", ".pps", ".wps", ".et"}),
    "ofd": (".ofd", {".ofd"}),
}
_MAGIC = (
    (b"%PDF-", "pdf"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole2"),
)
_OOXML_PARTS = (
    ("word/document.xml", "docx"),
    ("xl/workbook.xml", "xlsx"),
    ("ppt/presentation.xml", "pptx"),
)
_PDF_WINDOW = 1024  # a PDF may carry a few bytes before its header


def kind_of(stream) -> str | None:
    """The document kind of a seekable binary stream, read from its content; the stream is
    left where it was. None for anything the archive does not keep."""
    start = stream.tell()
    try:
        head = stream.read(_PDF_WINDOW)
        for magic, kind in _MAGIC:
            if head.startswith(magic):
                return kind
        if b"%PDF-" in head:
            return "pdf"
        if head[:2] == b"BM" and len(head) >= 26 and head[14] in (12, 40, 56, 64, 108, 124):
            return "bmp"
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return "webp"
        if head[:4] == b"PK\x03\x04":
            stream.seek(start)
            return _zip_kind(stream)
        return None
    finally:
        stream.seek(start)


def _zip_kind(stream) -> str | None:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    if "OFD.xml" in names:
        return "ofd"
    if "[Content_Types].xml" not in names:
        return None
    for part, kind in _OOXML_PARTS:
        if part in names:
            return kind
    return None


def suffix_for(kind: str, filename: str | None) -> str:
    """The stored file's suffix: the name's own when it fits the content, else the kind's."""
    canonical, accepted = KINDS[kind]
    suffix = PurePosixPath((filename or "").replace("\\", "/")).suffix.lower()
    return suffix if suffix in accepted else canonical


def check_document(stream, filename: str | None, field: str) -> str:
    """The suffix to store an upload under, or a DomainError on `field`."""
    kind = kind_of(stream)
    if kind is None:
        message = _l(
            "Only PDF, image (JPEG, PNG, TIFF, GIF, BMP, WebP), Office (Word, Excel, "
            "PowerPoint) or OFD files are kept; this file is none of them."
        )
        raise DomainError(message, {field: message})
    return suffix_for(kind, filename)


def is_xlsx(stream) -> bool:
    return kind_of(stream) == "xlsx"
