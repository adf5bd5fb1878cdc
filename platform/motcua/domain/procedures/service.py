"""Search and cards over the ``procedure`` table. Plain asyncpg: citizens wait on this."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

# Ranking: exact folded substring first, then trigram word similarity (typos), then similarity.
# word_similarity suits a short query against a long name ("khai sinh" in "Đăng ký khai sinh").
SEARCH_SQL = """
WITH q AS (SELECT motcua_fold($1) AS k)
SELECT p.code, p.name, p.sector, p.agency_code, a.name AS agency_name, p.online, p.processing_days, p.fee,
       p.data,
       (p.search_key LIKE '%' || q.k || '%')::int * 2
         + word_similarity(q.k, p.search_key) + similarity(q.k, p.search_key) AS score
FROM procedure p CROSS JOIN q
LEFT JOIN agency a ON a.tenant_id = p.tenant_id AND a.code = p.agency_code
WHERE p.tenant_id = $2
  AND (p.search_key LIKE '%' || q.k || '%' OR q.k <% p.search_key OR p.search_key % q.k)
ORDER BY score DESC, length(p.name), p.code
LIMIT $3
"""


@dataclass
class ProcedureCard:
    code: str
    name: str
    sector: str | None
    agency_code: str | None
    agency_name: str | None
    online: bool
    processing_days: float | None
    fee: str | None
    papers: list[dict[str, Any]] = field(default_factory=list)
    level: str | None = None
    score: float = 0.0

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> ProcedureCard:
        data = row["data"] or {}
        papers = data.get("papers") or []
        days = row["processing_days"]
        return cls(code=row["code"], name=row["name"], sector=row["sector"], agency_code=row["agency_code"],
                   agency_name=row["agency_name"], online=row["online"],
                   processing_days=float(days) if days is not None else None, fee=row["fee"],
                   papers=[p if isinstance(p, dict) else {"name": str(p)} for p in papers],
                   level=data.get("level"), score=float(row["score"]) if "score" in row.keys() else 0.0)


async def search(conn: asyncpg.Connection, tenant_id: str, query: str, *, limit: int = 5) -> list[ProcedureCard]:
    """Procedures matching ``query`` best first; accents, case and small typos do not matter."""
    query = (query or "").strip()
    if not query:
        return []
    # Trigram operators use the session thresholds; word_similarity's default (0.6) misses typos.
    await conn.execute("SELECT set_config('pg_trgm.word_similarity_threshold', '0.45', true), "
                       "set_config('pg_trgm.similarity_threshold', '0.3', true)")
    rows = await conn.fetch(SEARCH_SQL, query[:200], tenant_id, limit)
    return [ProcedureCard.from_row(r) for r in rows]


async def card(conn: asyncpg.Connection, tenant_id: str, code: str) -> ProcedureCard | None:
    row = await conn.fetchrow(
        """SELECT p.code, p.name, p.sector, p.agency_code, a.name AS agency_name, p.online, p.processing_days,
                  p.fee, p.data
           FROM procedure p LEFT JOIN agency a ON a.tenant_id = p.tenant_id AND a.code = p.agency_code
           WHERE p.tenant_id = $1 AND p.code = $2""", tenant_id, code)
    return ProcedureCard.from_row(row) if row else None


def days_text(days: float | None) -> str:
    if days is None:
        return "theo quy định"
    n = int(days) if float(days).is_integer() else days
    return f"{n} ngày làm việc"


def render_card(p: ProcedureCard, *, max_papers: int = 8) -> str:
    """A procedure card as chat text (fits a Zalo message)."""
    lines = [f"📄 {p.name}"]
    if p.agency_name:
        lines.append(f"Cơ quan giải quyết: {p.agency_name}")
    lines.append(f"Thời hạn giải quyết: {days_text(p.processing_days)}")
    lines.append(f"Lệ phí: {p.fee or 'không có / theo quy định'}")
    lines.append("Nộp trực tuyến: " + ("được" if p.online else "chưa hỗ trợ, xin nộp tại bộ phận một cửa"))
    if p.papers:
        lines.append("Giấy tờ cần chuẩn bị:")
        for paper in p.papers[:max_papers]:
            copies = paper.get("copies") or 1
            extra = f" ({copies} bản)" if copies and int(copies) > 1 else ""
            optional = " (nếu có)" if paper.get("required") is False else ""
            lines.append(f"• {paper.get('name', '')}{extra}{optional}")
        if len(p.papers) > max_papers:
            lines.append(f"… và {len(p.papers) - max_papers} giấy tờ khác.")
    lines.append(f"Mã thủ tục: {p.code}")
    return "\n".join(lines)
