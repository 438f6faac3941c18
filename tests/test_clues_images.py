"""Screenshots are re-encoded: no EXIF / GPS / XMP / ICC / text chunks survive; only PNG, JPEG
and WebP within the size limits are accepted."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from clue_support import image_with_metadata, metadata_left
from zhijian.clues import images
from zhijian.clues.images import ImageRejected, sanitize


@pytest.mark.parametrize("fmt,media", [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
def test_metadata_stripped(fmt, media):
    raw = image_with_metadata(fmt)
    assert len(metadata_left(raw)) >= 3  # the fixture really carries metadata
    clean, mt, _ext = sanitize(raw)
    assert mt == media
    assert metadata_left(clean) == []
    with Image.open(io.BytesIO(clean)) as a, Image.open(io.BytesIO(raw)) as b:
        assert a.size == b.size and a.format == fmt


def test_exif_orientation_applied_then_dropped():
    im = Image.new("RGB", (40, 20), "blue")
    ex = Image.Exif()
    ex[0x0112] = 6  # rotate 90° when displayed
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=ex.tobytes())
    clean, _, _ = sanitize(buf.getvalue())
    with Image.open(io.BytesIO(clean)) as out:
        assert out.size == (20, 40)
        assert len(out.getexif()) == 0


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_formats_rejected(fmt):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, fmt)
    with pytest.raises(ImageRejected):
        sanitize(buf.getvalue())


def test_garbage_and_oversize_rejected(monkeypatch):
    with pytest.raises(ImageRejected):
        sanitize(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    pol = {**images.policy()}
    pol["limits"] = {**pol["limits"], "max_image_pixels": 100}
    monkeypatch.setattr(images, "policy", lambda: pol)
    with pytest.raises(ImageRejected):
        sanitize(image_with_metadata("PNG", size=(20, 20)))
