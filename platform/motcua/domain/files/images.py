"""Photos of papers: checked by content, bounded, cleaned of metadata, re-encoded.

A file is an image only if its first bytes say so (JPEG, PNG or WebP) *and* Pillow decodes it
as that format; its name and the browser's content type are never trusted, and when they claim
another format the file is refused (a mislabelled file is a mistake or a trick, and the
citizen can simply pick or take the photo again). Size is capped before decoding, pixels are
counted from the header before any pixel is decoded (decompression bombs), and the output is
a fresh JPEG without EXIF (no GPS position, no camera serial), turned upright, at most
``MAX_SIDE`` pixels on its long side, which keeps A4 papers legible at ~250 dpi.

Every refusal raises ``ImageRefused`` with a short Vietnamese message for the citizen.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 3000
JPEG_QUALITY = 85

_NAMES = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP"}
_EXT = {"jpg": "jpeg", "jpeg": "jpeg", "jpe": "jpeg", "jfif": "jpeg", "png": "png", "webp": "webp",
        "gif": "gif", "heic": "heic", "heif": "heic", "bmp": "bmp", "tif": "tiff", "tiff": "tiff"}
_MIME = {"image/jpeg": "jpeg", "image/jpg": "jpeg", "image/pjpeg": "jpeg", "image/png": "png",
         "image/webp": "webp", "image/gif": "gif", "image/heic": "heic", "image/heif": "heic"}


class ImageRefused(ValueError):
    """The file is not an acceptable photo; ``str(exc)`` is the message for the citizen."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str
    source_format: str


def sniff(head: bytes) -> str | None:
    """The format the magic bytes announce, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"heim"):
        return "heic"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def _looks_like_text(head: bytes) -> bool:
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return stripped[:1] in (b"<", b"{", b"[") or stripped[:5].lower() in (b"<!doc", b"<html", b"<?xml", b"<svg ")


def claimed_format(filename: str | None, content_type: str | None) -> str | None:
    """What the name or the content type claims, if anything specific."""
    if filename and "." in filename:
        ext = filename.rsplit(".", 1)[1].strip().lower()
        if ext in _EXT:
            return _EXT[ext]
    if content_type:
        return _MIME.get(content_type.split(";")[0].strip().lower())
    return None


def clean_image(data: bytes, *, filename: str | None = None, content_type: str | None = None) -> CleanImage:
    """Check ``data`` and return it cleaned, or raise ``ImageRefused``. CPU-bound: run it in a thread."""
    if not data:
        raise ImageRefused("Tệp trống. Vui lòng chụp hoặc chọn lại ảnh.")
    if len(data) > MAX_BYTES:
        raise ImageRefused(f"Ảnh quá lớn ({len(data) / 1048576:.1f} MB). Mỗi ảnh tối đa {MAX_BYTES // 1048576} MB; "
                           "ông/bà vui lòng chụp lại hoặc giảm kích thước ảnh.")
    kind = sniff(data[:32])
    if kind is None:
        if _looks_like_text(data[:64]):
            raise ImageRefused("Tệp này không phải là ảnh (nội dung là trang web hoặc văn bản). "
                               "Vui lòng chụp hoặc chọn ảnh giấy tờ (JPEG, PNG).")
        raise ImageRefused("Tệp này không phải là ảnh mà hệ thống đọc được. Vui lòng chụp hoặc chọn ảnh JPEG hoặc PNG.")
    if kind == "heic":
        raise ImageRefused("Ảnh HEIC chưa được hỗ trợ. Ông/bà vui lòng chụp trực tiếp trong biểu mẫu "
                           "hoặc chọn ảnh định dạng JPEG.")
    if kind == "gif":
        raise ImageRefused("Ảnh động (GIF) không dùng được cho giấy tờ. Vui lòng chụp hoặc chọn ảnh JPEG hoặc PNG.")
    claimed = claimed_format(filename, content_type)
    if claimed is not None and claimed != kind:
        shown = ("." + filename.rsplit(".", 1)[1].lower()) if filename and "." in filename else claimed.upper()
        raise ImageRefused(f"Tệp mang đuôi {shown} nhưng nội dung là ảnh {_NAMES[kind]}. "
                           "Vui lòng chọn đúng tệp ảnh gốc hoặc chụp lại.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[_NAMES[kind].upper()])
            width, height = im.size
            if width * height > MAX_PIXELS:
                raise ImageRefused(f"Ảnh có độ phân giải quá lớn ({width * height / 1e6:.0f} megapixel; tối đa "
                                   f"{MAX_PIXELS // 1_000_000}). Vui lòng chụp lại ở chế độ thường.")
            if kind == "jpeg":
                # Decode at a reduced scale when the photo is much larger than what we keep: less memory, faster.
                im.draft("RGB", (MAX_SIDE, MAX_SIDE))
            im.load()
            im = ImageOps.exif_transpose(im)
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused(f"Ảnh có độ phân giải quá lớn (tối đa {MAX_PIXELS // 1_000_000} megapixel). "
                           "Vui lòng chụp lại ở chế độ thường.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageRefused("Ảnh bị hỏng hoặc chưa tải xong. Vui lòng chụp hoặc chọn lại ảnh.") from None
    if im.mode in ("RGBA", "LA", "P", "PA"):
        im = im.convert("RGBA")
        background = Image.new("RGB", im.size, (255, 255, 255))
        background.paste(im, mask=im.getchannel("A"))
        im = background
    elif im.mode != "RGB":
        im = im.convert("RGB")
    im.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # A fresh encode carries no EXIF, XMP or ICC comments from the phone: no GPS position leaves here.
    im.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    body = out.getvalue()
    return CleanImage(body, "image/jpeg", im.width, im.height, hashlib.sha256(body).hexdigest(), kind)
