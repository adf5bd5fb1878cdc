"""Images and clients the submission tests share."""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlsplit

from PIL import Image


def jpeg_with_gps(size=(1200, 900), *, orientation: int | None = None, color=(210, 200, 180)) -> bytes:
    """A phone-like photo: JPEG with a GPS position (and optionally a rotation) in its EXIF."""
    im = Image.new("RGB", size, color)
    for x in range(0, size[0], 40):  # some structure, like lines of text on a paper
        im.paste((40, 40, 40), (x, size[1] // 3, x + 20, size[1] // 3 + 6))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (9.0, 10.0, 36.0), 3: "E", 4: (105.0, 9.0, 0.0)}  # Cà Mau
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png_bytes(size=(400, 300), *, mode: str = "RGB", alpha: bool = False) -> bytes:
    im = Image.new("RGBA" if alpha else mode, size, (120, 130, 140, 200) if alpha else 128 if mode == "L" else (1, 2, 3))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def link_parts(url: str) -> tuple[str, dict[str, str]]:
    """(path, query) of a form link."""
    parts = urlsplit(url)
    return parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}


def draft_id(html: str) -> str:
    m = re.search(r'name="draft_id" value="(\d+)"', html)
    assert m, "the form carries its draft id"
    return m.group(1)
