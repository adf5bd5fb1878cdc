"""A dossier as a citizen may see it: found by code (or an alias), in plain words, with the
last events and a signed link to the status page.

Privacy: a lookup by code shows only what the receipt holder may see (status, procedure,
agency, dates, missing papers, events). The applicant's name is shown only to the linked
citizen (their shared phone's keyed hash equals the dossier's ``applicant_key``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import asyncpg

from motcua.onestop.codes import normalize_code
from motcua.onestop.records import Timing, timing

PLAIN_STATUS: dict[str, str] = {
    "submitted": "Hồ sơ đã nộp, đang chờ cán bộ tiếp nhận.",
    "received": "Hồ sơ đã được tiếp nhận.",
    "processing": "Hồ sơ đang được giải quyết.",
    "supplement_required": "Hồ sơ cần bổ sung giấy tờ.",
    "awaiting_payment": "Hồ sơ đang chờ ông/bà nộp phí, lệ phí.",
    "not_accepted": "Hồ sơ không được tiếp nhận.",
    "withdrawn": "Hồ sơ đã được rút theo yêu cầu của ông/bà.",
    "stopped": "Hồ sơ đã dừng giải quyết.",
    "resolved": "Hồ sơ đã có kết quả, mời ông/bà đến nhận.",
    "returned": "Hồ sơ đã trả kết quả.",
    "unknown": "Trạng thái hồ sơ đang được cập nhật.",
}
SHORT_STATUS: dict[str, str] = {
    "submitted": "Mới nộp", "received": "Đã tiếp nhận", "processing": "Đang giải quyết",
    "supplement_required": "Cần bổ sung giấy tờ", "awaiting_payment": "Chờ nộp phí",
    "not_accepted": "Không được tiếp nhận", "withdrawn": "Đã rút", "stopped": "Dừng giải quyết",
    "resolved": "Đã có kết quả", "returned": "Đã trả kết quả", "unknown": "Đang cập nhật",
}
EVENT_WORDS: dict[str, str] = {"created": "Hồ sơ được ghi nhận", "due_changed": "Hẹn lại ngày trả kết quả",
                               "unknown_status": "Cập nhật trạng thái"}


def status_token_message(tenant_id: str, code_key: str) -> str:
    return f"{tenant_id}:{code_key}"


def status_link(runtime: Any, tenant_id: str, code: str, code_key: str | None = None) -> str:
    key = code_key or normalize_code(code)
    token = runtime.crypto.sign(status_token_message(tenant_id, key))
    return f"{runtime.settings.public_url}/t/{tenant_id}/hs/{quote(code, safe='')}?t={token}"


def local(dt: datetime | None, tz: str) -> datetime | None:
    return dt.astimezone(ZoneInfo(tz)) if dt else None


def vn_date(dt: datetime | None, tz: str = "Asia/Ho_Chi_Minh") -> str:
    d = local(dt, tz)
    return d.strftime("%d/%m/%Y") if d else "chưa có"


def vn_datetime(dt: datetime | None, tz: str = "Asia/Ho_Chi_Minh") -> str:
    d = local(dt, tz)
    return d.strftime("%H:%M %d/%m/%Y") if d else ""


@dataclass
class Event:
    kind: str
    status: str | None
    at: datetime
    note: str | None
    data: dict[str, Any]

    @property
    def title(self) -> str:
        if self.kind == "status_changed" and self.status:
            return SHORT_STATUS.get(self.status, self.status)
        if self.kind == "created" and self.status:
            return SHORT_STATUS.get(self.status, EVENT_WORDS["created"])
        return EVENT_WORDS.get(self.kind, self.kind)


@dataclass
class DossierView:
    id: int
    code: str
    code_key: str
    status: str
    procedure_name: str | None
    agency_name: str | None
    agency_code: str | None
    applicant_name: str | None
    applicant_key: str | None
    received_at: datetime | None
    submitted_at: datetime | None
    due_at: datetime | None
    finished_at: datetime | None
    returned_at: datetime | None
    missing_papers: list[str]
    note: str | None
    synced_at: datetime | None
    events: list[Event] = field(default_factory=list)

    @property
    def plain_status(self) -> str:
        return PLAIN_STATUS.get(self.status, PLAIN_STATUS["unknown"])

    @property
    def short_status(self) -> str:
        return SHORT_STATUS.get(self.status, SHORT_STATUS["unknown"])

    @property
    def timing(self) -> Timing | None:
        finished = self.finished_at or (self.returned_at if self.status == "returned" else None)
        return timing(self.due_at, finished, datetime.now(UTC))

    def holder_of(self, phone_key: str | None) -> bool:
        """Whether the citizen whose shared phone hashes to ``phone_key`` is the applicant."""
        return bool(phone_key and self.applicant_key and phone_key == self.applicant_key)


DOSSIER_COLUMNS = """d.id, d.code, d.code_key, d.status, d.procedure_name, d.agency_code,
  coalesce(d.agency_name, a.name) AS agency_name, d.applicant_name, d.applicant_key, d.received_at, d.submitted_at,
  d.due_at, d.finished_at, d.returned_at, d.missing_papers, d.note, d.synced_at"""


def _view(row: asyncpg.Record) -> DossierView:
    papers = row["missing_papers"] or []
    return DossierView(id=row["id"], code=row["code"], code_key=row["code_key"], status=row["status"],
                       procedure_name=row["procedure_name"], agency_name=row["agency_name"],
                       agency_code=row["agency_code"], applicant_name=row["applicant_name"],
                       applicant_key=row["applicant_key"], received_at=row["received_at"],
                       submitted_at=row["submitted_at"], due_at=row["due_at"], finished_at=row["finished_at"],
                       returned_at=row["returned_at"],
                       missing_papers=[p if isinstance(p, str) else str(p.get("name", p)) for p in papers],
                       note=row["note"], synced_at=row["synced_at"])


async def find(conn: asyncpg.Connection, tenant_id: str, code: str, *, events: int = 5) -> DossierView | None:
    """The dossier whose code (or alias) normalises like ``code``, with its last events."""
    key = normalize_code(code)
    row = await conn.fetchrow(
        f"""SELECT {DOSSIER_COLUMNS} FROM dossier d
            LEFT JOIN agency a ON a.tenant_id = d.tenant_id AND a.code = d.agency_code
            WHERE d.tenant_id = $1 AND (d.code_key = $2 OR d.id = (
              SELECT dossier_id FROM dossier_alias WHERE tenant_id = $1 AND code_key = $2))
            LIMIT 1""", tenant_id, key)
    if row is None:
        return None
    view = _view(row)
    if events:
        view.events = await recent_events(conn, tenant_id, view.id, events)
    return view


async def by_id(conn: asyncpg.Connection, tenant_id: str, dossier_id: int, *, events: int = 5) -> DossierView | None:
    row = await conn.fetchrow(
        f"""SELECT {DOSSIER_COLUMNS} FROM dossier d
            LEFT JOIN agency a ON a.tenant_id = d.tenant_id AND a.code = d.agency_code
            WHERE d.tenant_id = $1 AND d.id = $2""", tenant_id, dossier_id)
    if row is None:
        return None
    view = _view(row)
    if events:
        view.events = await recent_events(conn, tenant_id, view.id, events)
    return view


async def recent_events(conn: asyncpg.Connection, tenant_id: str, dossier_id: int, limit: int) -> list[Event]:
    rows = await conn.fetch(
        """SELECT kind, status, at, note, data FROM dossier_event WHERE tenant_id = $1 AND dossier_id = $2
           ORDER BY at DESC, id DESC LIMIT $3""", tenant_id, dossier_id, limit)
    return [Event(r["kind"], r["status"], r["at"], r["note"], r["data"] or {}) for r in rows]


def render_lookup(view: DossierView, link: str, *, tz: str, holder: bool = False, age_note: str = "") -> str:
    """A lookup answer as chat text: status in plain words, agency, dates, what is missing,
    the last events and the status page link."""
    lines = [f"Hồ sơ {view.code}", view.plain_status]
    if holder and view.applicant_name:
        lines.append(f"Người nộp: {view.applicant_name}")
    if view.procedure_name:
        lines.append(f"Thủ tục: {view.procedure_name}")
    if view.agency_name:
        lines.append(f"Cơ quan giải quyết: {view.agency_name}")
    if view.received_at:
        lines.append(f"Ngày tiếp nhận: {vn_date(view.received_at, tz)}")
    if view.due_at:
        lines.append(f"Ngày hẹn trả: {vn_date(view.due_at, tz)}")
    t = view.timing
    if view.status in ("resolved", "returned") and t is Timing.early:
        lines.append("Hồ sơ được giải quyết sớm hơn ngày hẹn.")
    elif t is Timing.overdue and view.status not in ("resolved", "returned"):
        lines.append("Hồ sơ đã quá ngày hẹn; cơ quan sẽ gửi phiếu xin lỗi và hẹn lại ngày trả.")
    if view.status == "supplement_required" and view.missing_papers:
        lines.append("Giấy tờ cần bổ sung:")
        lines += [f"• {p}" for p in view.missing_papers[:8]]
    if view.events:
        lines.append("Diễn biến gần đây:")
        for e in view.events[:3]:
            lines.append(f"• {vn_date(e.at, tz)}: {e.title}" + (f" ({e.note})" if e.note and len(e.note) < 120 else ""))
    if age_note:
        lines.append(age_note)
    lines.append(f"Xem chi tiết: {link}")
    return "\n".join(lines)
