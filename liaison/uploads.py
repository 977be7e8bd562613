"""Uploaded files: images (only real ones, capped, their metadata stripped) and PDFs.

A photo taken on a phone carries its GPS position in EXIF; re-encoding the pixels alone,
after applying the orientation tag, drops that and every other piece of metadata (EXIF, XMP,
JPEG comments, PNG text), keeping only the colour profile (``KEPT_INFO``).

``clean_attachment`` is the project's one rule for a document sent with a record (a ticket's
matter or reply, a research report): an image or a PDF, at most ``MAX_FILE_BYTES``, its type
read from its bytes, never from its name or the browser's word for it.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # ~ a 48-megapixel phone photo; guards against decompression bombs
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_FILE_BYTES = 5 * 1024 * 1024
IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
# What a file input offers (the server checks the bytes all the same).
ACCEPT = "image/jpeg,image/png,image/webp,application/pdf,.jpg,.jpeg,.png,.webp,.pdf"


# What of an image's ``info`` a clean copy keeps: how its pixels look (a colour profile holds no
# personal data; a palette's transparent colour is part of the picture). Everything else goes:
# EXIF (GPS, camera, time), XMP, IPTC, JPEG comments (COM), PNG text chunks, DPI.
KEPT_INFO = ("icc_profile", "transparency")


def _pixels_only(image, fmt: str) -> dict:
    """The save() options that write the pixels and nothing else. Pillow copies some of
    ``image.info`` into the new file by itself (a JPEG's comment, a PNG's colour profile), so
    the info is emptied first and what is kept is passed explicitly."""
    kept = {key: image.info[key] for key in KEPT_INFO if image.info.get(key) is not None}
    image.info.clear()
    if fmt != "PNG":
        kept.pop("transparency", None)  # a palette image is saved as PNG; JPEG has no such thing
    return kept | ({"quality": 85} if fmt == "JPEG" else {})


def clean_image(upload, *, max_bytes: int = MAX_IMAGE_BYTES) -> ContentFile:
    """Return a metadata-free copy of ``upload``, or raise ValidationError saying what is wrong."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if upload.size > max_bytes:
        raise ValidationError(
            _("The image is %(size)s; the limit is %(limit)s.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(max_bytes)},
            code="too_large",
        )
    upload.seek(0)
    try:
        with Image.open(upload) as probe:
            probe.verify()  # checks the file's structure without decoding all of it
        upload.seek(0)
        image = Image.open(upload)
        fmt = image.format
        if fmt not in FORMATS:
            raise ValidationError(_("Upload a JPEG, PNG or WebP image."), code="bad_format")
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise ValidationError(_("The image has too many pixels."), code="too_many_pixels")
        image = ImageOps.exif_transpose(image)
        if fmt == "JPEG" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        out = io.BytesIO()
        image.save(out, format=fmt, **_pixels_only(image, fmt))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(_("The file is not an image we can read."), code="not_an_image") from None
    finally:
        upload.seek(0)
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.{FORMATS[fmt]}")


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
