"""Images full of metadata, for the clue-channel tests."""

from __future__ import annotations

import io

from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="ZhangSanSecretAuthor"/></rdf:RDF></x:xmpmeta>'
    b'<?xpacket end="w"?>'
)
MARKERS = [
    b"ZhangSanSecretAuthor",
    b"xmpmeta",
    b"SecretCameraModel",
    b"Exif\x00\x00",
    b"GPS-SECRET-COMMENT",
    b"sRGB built-in",
]


def _exif() -> bytes:
    ex = Image.Exif()
    ex[0x0110] = "SecretCameraModel"  # Model
    ex[0x0132] = "2026:06:01 22:40:00"  # DateTime
    gps = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
    ex[0x8825] = gps  # GPSInfo
    return ex.tobytes()


def _icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def image_with_metadata(fmt: str, size=(64, 48)) -> bytes:
    im = Image.new("RGB", size, (200, 30, 30))
    for x in range(0, size[0], 4):
        im.putpixel((x, x % size[1]), (0, 0, 0))
    out = io.BytesIO()
    if fmt == "JPEG":
        im.save(out, "JPEG", exif=_exif(), icc_profile=_icc(), xmp=XMP, comment=b"GPS-SECRET-COMMENT")
    elif fmt == "PNG":
        info = PngInfo()
        info.add_text("Author", "ZhangSanSecretAuthor")
        info.add_text("Comment", "GPS-SECRET-COMMENT")
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        im.save(out, "PNG", pnginfo=info, exif=_exif(), icc_profile=_icc())
    elif fmt == "WEBP":
        im.save(out, "WEBP", exif=_exif(), icc_profile=_icc(), xmp=XMP)
    else:
        im.save(out, fmt)
    return out.getvalue()


def metadata_left(data: bytes) -> list[str]:
    """Which metadata markers or metadata fields are still present."""
    left = [m.decode("latin-1") for m in MARKERS if m in data]
    with Image.open(io.BytesIO(data)) as im:
        for k in ("exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp", "Author", "Comment"):
            if im.info.get(k):
                left.append(f"info:{k}")
        if len(im.getexif()):
            left.append("getexif")
    return left


# ── browser (Playwright + Debian Chromium), shared by the *_browser tests of this area ─────────
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from browser_support import chromium  # noqa: E402

SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "web"


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as b:
        yield b


def browser_login(browser, url: str, user: str, password: str):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard")
    return ctx, page, errors
