"""Uploaded images: accept only real images, cap their size, strip their metadata.

A photo taken on a phone carries its GPS position in EXIF; re-encoding the pixels alone,
after applying the orientation tag, drops that and every other piece of metadata.
"""

from __future__ import annotations

import io
import uuid

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # ~ a 48-megapixel phone photo; guards against decompression bombs
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


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
        # Saving without exif=/pnginfo= writes the pixels only.
        image.save(out, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(_("The file is not an image we can read."), code="not_an_image") from None
    finally:
        upload.seek(0)
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.{FORMATS[fmt]}")
