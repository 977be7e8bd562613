"""Files sent with a matter or a reply: images (re-encoded without metadata) and PDFs only.

The type is read from the file's bytes, never from its name or the browser's word for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from liaison.uploads import clean_image

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FILES = 3
IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


@dataclass(frozen=True)
class CleanFile:
    content: File
    name: str
    content_type: str
    size: int


def clean_attachment(upload, *, max_bytes: int = MAX_FILE_BYTES) -> CleanFile:
    """Return a safe copy of an uploaded image or PDF, or raise ValidationError saying why not."""
    name = (getattr(upload, "name", "") or "file").rsplit("/", 1)[-1][-120:]
    if upload.size > max_bytes:
        raise ValidationError(
            _("“%(name)s” is %(size)s; each file may be at most %(limit)s.")
            % {"name": name, "size": filesizeformat(upload.size), "limit": filesizeformat(max_bytes)},
            code="too_large",
        )
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if head == b"%PDF-":
        data = upload.read()
        upload.seek(0)
        if b"%%EOF" not in data[-2048:]:
            raise ValidationError(
                _("“%(name)s” is not a complete PDF file.") % {"name": name}, code="bad_pdf"
            )
        return CleanFile(ContentFile(data, name="file.pdf"), name, "application/pdf", len(data))
    try:
        image = clean_image(upload, max_bytes=max_bytes)
    except ValidationError as exc:
        if exc.code == "not_an_image":
            raise ValidationError(
                _("“%(name)s” is neither an image (JPEG, PNG, WebP) nor a PDF.") % {"name": name},
                code="bad_type",
            ) from None
        raise
    ext = image.name.rsplit(".", 1)[-1]
    return CleanFile(image, name, IMAGE_TYPES[ext], image.size)
