"""Every metadata segment is stripped from uploaded images: EXIF (GPS, camera), XMP, JPEG comments
(the COM segment) and PNG text; the colour profile and the pixels stay."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageCms, PngImagePlugin

from liaison.uploads import clean_attachment, clean_image

SECRETS = (b"secret", b"SecretCam", b"GPS")


def exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (31.0, 12.0, 5.0), 3: "E", 4: (121.0, 28.0, 1.0)}  # GPSInfo
    return exif.tobytes()


def photo(fmt: str, **options) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(out, format=fmt, **options)
    return out.getvalue()


def cleaned(data: bytes, name: str) -> bytes:
    return clean_image(SimpleUploadedFile(name, data)).read()


def test_a_jpeg_loses_its_comment_and_its_gps_exif():
    data = photo("JPEG", comment=b"secret", exif=exif_with_gps())
    assert b"secret" in data and b"SecretCam" in data  # the sample really carries them
    stored = cleaned(data, "a.jpg")
    assert b"secret" not in stored and b"SecretCam" not in stored and b"Exif" not in stored
    reopened = Image.open(io.BytesIO(stored))
    assert "comment" not in reopened.info and not reopened.getexif()
    assert reopened.size == (40, 30)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("PNG", {"pnginfo": PngImagePlugin.PngInfo(), "exif": exif_with_gps()}),
        ("WEBP", {"exif": exif_with_gps(), "xmp": b"<x:xmpmeta>secret</x:xmpmeta>"}),
    ],
)
def test_png_text_and_webp_xmp_and_exif_are_dropped(fmt, options):
    if fmt == "PNG":
        options["pnginfo"].add_text("Comment", "secret")
    data = photo(fmt, **options)
    assert b"secret" in data
    stored = cleaned(data, f"a.{fmt.lower()}")
    assert not any(s in stored for s in (b"secret", b"SecretCam"))


def test_the_colour_profile_is_kept():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    stored = cleaned(photo("JPEG", icc_profile=profile, comment=b"secret"), "a.jpg")
    assert Image.open(io.BytesIO(stored)).info.get("icc_profile") == profile and b"secret" not in stored


def test_attachments_go_through_the_same_cleaning():
    data = photo("JPEG", comment=b"secret", exif=exif_with_gps())
    stored = clean_attachment(SimpleUploadedFile("路灯.jpg", data)).content.read()
    assert b"secret" not in stored and b"SecretCam" not in stored
