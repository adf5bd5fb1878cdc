"""Answers "giá đất đường <tên đường>" from the price table the tenant names.

The table is read once per file version (path + modification time) and kept in memory: a
province's table has a few thousand rows and changes once a year.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from importlib import resources
from pathlib import Path
from typing import Any

SAMPLES = {"dong-nai": "dong-nai-sample.csv"}
_NON_WORD = re.compile(r"[^0-9a-z\s]")
# What people type before the street name; folded.
_LEAD = re.compile(r"^.*?\bgia\s*dat\b\s*(?:o\s+|tai\s+|cua\s+)?(?:tuyen\s+)?(?:duong|pho)?\s*", re.S)


def fold(text: str) -> str:
    text = unicodedata.normalize("NFD", (text or "").replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn").lower()
    return " ".join(_NON_WORD.sub(" ", text).split())


@dataclass(frozen=True)
class Segment:
    street: str
    start: str
    end: str
    ward: str
    prices: tuple[int | None, ...]  # positions 1..4, đồng per m²

    @property
    def key(self) -> str:
        return fold(self.street)


def money(value: int) -> str:
    return f"{value:,}".replace(",", ".") + " đ/m²"


def parse_table(text: str) -> list[Segment]:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    rows = []
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        street = (row.get("duong") or "").strip()
        if not street:
            continue
        prices = []
        for col in ("vt1", "vt2", "vt3", "vt4"):
            raw = re.sub(r"[^\d]", "", row.get(col) or "")
            prices.append(int(raw) if raw else None)
        rows.append(Segment(street, (row.get("tu") or "").strip(), (row.get("den") or "").strip(),
                            (row.get("phuong_xa") or "").strip(), tuple(prices)))
    return rows


class LandPrices:
    """The utility object ``motcua_register_utilities`` registers."""

    name = "land_prices"
    title = "Giá đất"
    keywords = ("giá đất", "bảng giá đất", "gia dat")

    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, list[Segment]]] = {}

    def table(self, settings: dict[str, Any], base_dir: Path) -> list[Segment]:
        spec = str(settings.get("file") or "")
        if not spec:
            raise LookupError("the tenant file names no [utilities.land_prices] file")
        if spec.startswith("sample:"):
            name = SAMPLES[spec.removeprefix("sample:")]
            hit = self._cache.get(spec)
            if hit is None:
                text = resources.files("motcua_landprice").joinpath("data", name).read_text(encoding="utf-8")
                hit = self._cache[spec] = (0.0, parse_table(text))
            return hit[1]
        path = Path(spec)
        if not path.is_absolute():
            path = Path(base_dir) / path
        mtime = path.stat().st_mtime
        hit = self._cache.get(str(path))
        if hit is None or hit[0] != mtime:
            hit = self._cache[str(path)] = (mtime, parse_table(path.read_text(encoding="utf-8-sig")))
        return hit[1]

    def find(self, table: list[Segment], street_query: str) -> list[Segment]:
        q = fold(street_query)
        if not q:
            return []
        exact = [s for s in table if s.key == q]
        if exact:
            return exact
        contains = [s for s in table if q in s.key or (len(s.key) >= 4 and s.key in q)]
        if contains:
            return contains
        scored = sorted(((SequenceMatcher(None, q, s.key).ratio(), s) for s in table), key=lambda x: -x[0])
        best = scored[0][0] if scored else 0
        return [s for r, s in scored if r >= max(0.8, best - 0.02)]

    async def answer(self, query: str, context: Any) -> str:
        settings = dict(getattr(context, "settings", {}) or {})
        table = self.table(settings, Path(getattr(context, "base_dir", ".")))
        folded = fold(query)
        street = _LEAD.sub("", folded, count=1).strip() if "gia" in folded else folded
        if not street:
            return ("Ông/bà cho biết tên đường cần xem giá đất, ví dụ: \"giá đất đường Trần Hưng Đạo\".")
        found = self.find(table, street)
        if not found:
            return (f"Chưa tìm thấy đường \"{street}\" trong bảng giá đất. Ông/bà kiểm tra lại tên đường "
                    "hoặc nhắn \"gặp cán bộ\" để được hỗ trợ.")
        lines = [f"Giá đất ở đường {found[0].street} (theo bảng giá đất của tỉnh):"]
        for seg in found[:3]:
            part = f"từ {seg.start} đến {seg.end}" if seg.start and seg.end else "toàn tuyến"
            where = f", {seg.ward}" if seg.ward else ""
            lines.append(f"• Đoạn {part}{where}:")
            for i, price in enumerate(seg.prices, start=1):
                if price:
                    lines.append(f"  Vị trí {i}: {money(price)}")
        if len(found) > 3:
            lines.append(f"… và {len(found) - 3} đoạn khác. Ông/bà nhắn rõ đoạn đường để xem tiếp.")
        source = settings.get("source")
        sample = str(settings.get("file", "")).startswith("sample:")
        lines.append(f"Nguồn: {source}." if source else
                     ("Lưu ý: đây là dữ liệu mẫu để minh họa, không phải bảng giá chính thức." if sample else
                      "Giá để tham khảo; giá chính thức theo quyết định của UBND tỉnh."))
        return "\n".join(lines)
