"""Screenshots attached to a clue: decoded and re-encoded with Pillow so that no metadata survives.

Only PNG, JPEG and WebP are accepted (by content, not by file name). The pixels are copied into a
fresh image, which carries no EXIF (camera, time, GPS), XMP, IPTC, ICC profile, PNG text chunks or
comments; the image is re-encoded in its own format. The original bytes and file name are never
written anywhere.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from zhijian.clues.receipts import policy
from zhijian.errors import ZhijianError

FORMATS = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg"), "WEBP": ("image/webp", "webp")}


class ImageRejected(ZhijianError):
    """An upload that is not a PNG/JPEG/WebP image within the limits."""


def sanitize(data: bytes) -> tuple[bytes, str, str]:
    """(clean bytes, media type, extension) of an uploaded image, or :class:`ImageRejected`."""
    lim = policy()["limits"]
    if len(data) > lim["max_image_bytes"]:
        mb = lim["max_image_bytes"] // (1024 * 1024)
        raise ImageRejected(f"每张截图不能超过 {mb} MB", "image too large")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            w, h = probe.size
        if fmt not in FORMATS:
            raise ImageRejected("截图只支持 PNG、JPEG、WebP 格式", f"unsupported image format {fmt}")
        if w * h > lim["max_image_pixels"]:
            raise ImageRejected("截图尺寸过大", f"image of {w}x{h} pixels exceeds the limit")
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            im = ImageOps.exif_transpose(im)  # keep the orientation the reporter saw, then drop EXIF
            mode = im.mode
            if fmt == "JPEG" and mode not in ("RGB", "L"):
                im = im.convert("RGB")
            elif mode not in ("RGB", "RGBA", "L", "LA", "P"):
                im = im.convert("RGBA")
            if im.mode == "P":
                im = im.convert("RGBA")
            clean = Image.new(im.mode, im.size)
            clean.frombytes(im.tobytes())  # pixels only: no info dict, no palette extras, no ICC
    except ImageRejected:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise ImageRejected(
            "无法识别的图片文件（只支持 PNG、JPEG、WebP）", f"not a readable image: {type(e).__name__}"
        ) from e
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.save(out, "JPEG", quality=90, optimize=True)
    elif fmt == "PNG":
        clean.save(out, "PNG", optimize=True)
    else:
        clean.save(out, "WEBP", quality=90)
    media, ext = FORMATS[fmt]
    return out.getvalue(), media, ext
