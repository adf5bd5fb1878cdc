"""The feedback service. See the package docstring for the contract other parts rely on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from motcua.domain import audit
from motcua.domain.auth.principal import Principal
from motcua.domain.inbox.routing import fold, route
from motcua.tenancy.schema import Tenant

# Category codes match the tenant files' routing ``categories``.
CATEGORIES: dict[str, str] = {
    "thu-tuc-hanh-chinh": "Thủ tục hành chính",
    "dat-dai": "Đất đai",
    "moi-truong": "Môi trường",
    "xay-dung": "Xây dựng, nhà ở",
    "giao-thong": "Giao thông",
    "y-te": "Y tế",
    "giao-duc": "Giáo dục",
    "an-ninh-trat-tu": "An ninh, trật tự",
    "khac": "Khác",
}
STATUSES = ("received", "assigned", "processing", "answered", "closed", "rejected")
STATUS_LABELS = {"received": "Đã tiếp nhận", "assigned": "Đã chuyển cơ quan", "processing": "Đang xử lý",
                 "answered": "Đã trả lời", "closed": "Đã đóng", "rejected": "Không xử lý"}
NEXT = {"received": {"assigned", "processing", "answered", "rejected"},
        "assigned": {"processing", "answered", "rejected"},
        "processing": {"answered", "rejected"},
        "answered": {"closed", "processing"},
        "closed": set(), "rejected": set()}
CHANNELS = ("zalo", "miniapp", "web")
MAX_PHOTOS = 5

_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.-]?\d){8,10}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ID = re.compile(r"(?<!\d)\d{9,12}(?!\d)")


class FeedbackError(ValueError):
    """Bad input or a forbidden step; the message is Vietnamese, shown as is."""


class NotVisible(LookupError):
    """No such feedback for this person (absent, another tenant's, or another agency's)."""


@dataclass(frozen=True)
class Created:
    id: int
    agency_code: str | None
    due_at: datetime


def mask_personal_data(text: str | None) -> str:
    """Phone numbers, e-mail addresses and ID numbers replaced, for publication."""
    text = _EMAIL.sub("[email]", text or "")
    text = _PHONE.sub("[số điện thoại]", text)
    return _ID.sub("[số giấy tờ]", text)


def _category(value: str | None) -> str:
    value = (value or "").strip()
    if value in CATEGORIES:
        return value
    by_label = {fold(label): code for code, label in CATEGORIES.items()}
    code = by_label.get(fold(value)) or by_label.get(fold(value).replace("-", " "))
    if code is None:
        raise FeedbackError("Lĩnh vực phản ánh không hợp lệ. Xin chọn một lĩnh vực trong danh sách.")
    return code


def _location(value: Any) -> dict[str, Any] | None:
    if value in (None, "", {}):
        return None
    try:
        lat, lng = float(value["lat"]), float(value["lng"])
    except (KeyError, TypeError, ValueError):
        raise FeedbackError("Vị trí không hợp lệ.") from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise FeedbackError("Vị trí không hợp lệ.")
    out: dict[str, Any] = {"lat": lat, "lng": lng}
    if value.get("address"):
        out["address"] = str(value["address"])[:300]
    return out


async def create_feedback(conn: asyncpg.Connection, tenant: Tenant, *, category: str, title: str | None,
                          content: str, channel: str = "zalo", citizen_id: int | None = None,
                          photos: list[str] | tuple[str, ...] = (), location: dict[str, Any] | None = None,
                          contact: dict[str, Any] | None = None) -> Created:
    """Receive one feedback item: validated, routed to an agency, due in ``sla.feedback_days``."""
    if not tenant.file.features.feedback:
        raise FeedbackError("Tỉnh chưa mở chức năng phản ánh, kiến nghị.")
    if channel not in CHANNELS:
        raise FeedbackError("Kênh gửi không hợp lệ.")
    cat = _category(category)
    content = (content or "").strip()
    if len(content) < 10:
        raise FeedbackError("Xin mô tả nội dung phản ánh rõ hơn (ít nhất 10 ký tự).")
    if len(content) > 5000:
        raise FeedbackError("Nội dung phản ánh dài quá 5.000 ký tự.")
    title = (title or "").strip() or content.split("\n", 1)[0][:80]
    if len(title) > 200:
        raise FeedbackError("Tiêu đề dài quá 200 ký tự.")
    photos = [str(p).strip() for p in photos if str(p).strip()]
    if len(photos) > MAX_PHOTOS:
        raise FeedbackError(f"Chỉ gửi được tối đa {MAX_PHOTOS} ảnh.")
    if any(not re.match(r"^(https?://|/)", p) or len(p) > 500 for p in photos):
        raise FeedbackError("Đường dẫn ảnh không hợp lệ.")
    data: dict[str, Any] = {"photos": photos}
    loc = _location(location)
    if loc:
        data["location"] = loc
    if contact:
        data["contact"] = {k: str(v)[:200] for k, v in contact.items() if k in ("name", "phone", "email", "address")}
    agency = route(tenant, f"{title} {content}", cat)
    row = await conn.fetchrow(
        """INSERT INTO feedback (tenant_id, citizen_id, channel, category, title, content, agency_code, status,
                                 due_at, data)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'received', now() + $8, $9) RETURNING id, agency_code, due_at""",
        tenant.slug, citizen_id, channel, cat, title, content, agency,
        timedelta(days=float(tenant.file.sla.feedback_days)), data)
    await audit.record(conn, tenant.slug, f"citizen:{citizen_id}" if citizen_id else f"{channel}:anonymous",
                       "create", "feedback", row["id"], after={"category": cat, "agency_code": agency,
                                                                "channel": channel})
    return Created(row["id"], row["agency_code"], row["due_at"])


_SELECT = """SELECT f.*, a.name AS agency_name, f.due_at < now() AND f.status IN ('received', 'assigned', 'processing')
                    AS overdue, coalesce(z.display_name, f.data->'contact'->>'name') AS citizen_name
             FROM feedback f LEFT JOIN agency a ON a.tenant_id = f.tenant_id AND a.code = f.agency_code
             LEFT JOIN citizen z ON z.tenant_id = f.tenant_id AND z.id = f.citizen_id"""


async def get_feedback(conn: asyncpg.Connection, p: Principal, tenant: Tenant, feedback_id: int,
                       *, for_update: bool = False) -> asyncpg.Record:
    row = await conn.fetchrow(f"{_SELECT} WHERE f.tenant_id = $1 AND f.id = $2"
                              f"{' FOR UPDATE OF f' if for_update else ''}", tenant.slug, feedback_id)
    if row is None or not p.sees(row["agency_code"], row["assignee"]):
        raise NotVisible(feedback_id)
    return row


async def list_feedback(conn: asyncpg.Connection, p: Principal, tenant: Tenant, *, status: str = "active",
                        limit: int = 200) -> list[asyncpg.Record]:
    statuses = {"active": ["received", "assigned", "processing"], "all": list(STATUSES)}.get(
        status, [status] if status in STATUSES else ["received", "assigned", "processing"])
    args: list[Any] = [tenant.slug, statuses, limit]
    scope = ""
    if not p.all_agencies:
        scope = " AND (f.agency_code = ANY($4::text[]) OR f.assignee = $5)"
        args += [list(p.agencies), p.email]
    return await conn.fetch(f"{_SELECT} WHERE f.tenant_id = $1 AND f.status = ANY($2::text[]){scope} "
                            "ORDER BY f.due_at NULLS LAST, f.id LIMIT $3", *args)


def _writable(p: Principal, tenant: Tenant) -> None:
    if not p.can_handle(tenant.slug):
        raise FeedbackError("Tài khoản của bạn chỉ được xem, không được xử lý.")


async def assign(conn: asyncpg.Connection, p: Principal, tenant: Tenant, feedback_id: int, *,
                 agency_code: str | None = None, assignee: str | None = None) -> None:
    """Move to another agency (status 'assigned') and/or name the officer handling it."""
    _writable(p, tenant)
    fb = await get_feedback(conn, p, tenant, feedback_id, for_update=True)
    if fb["status"] in ("closed", "rejected", "answered"):
        raise FeedbackError("Phản ánh đã xử lý xong, không chuyển được nữa.")
    agency = agency_code or fb["agency_code"]
    if agency_code and not await conn.fetchval("SELECT 1 FROM agency WHERE tenant_id = $1 AND code = $2 AND active",
                                               tenant.slug, agency_code):
        raise FeedbackError("Không có cơ quan này.")
    status = "assigned" if agency_code and agency_code != fb["agency_code"] else fb["status"]
    if status == "received":
        status = "assigned"
    await conn.execute("UPDATE feedback SET agency_code = $3, assignee = $4, status = $5 WHERE tenant_id = $1 AND id = $2",
                       tenant.slug, feedback_id, agency, assignee if assignee is not None else fb["assignee"], status)
    await audit.record(conn, tenant.slug, p.actor, "assign", "feedback", feedback_id,
                       before={"agency_code": fb["agency_code"], "assignee": fb["assignee"], "status": fb["status"]},
                       after={"agency_code": agency, "assignee": assignee, "status": status})


async def set_status(conn: asyncpg.Connection, p: Principal, tenant: Tenant, feedback_id: int, status: str,
                     *, reason: str | None = None) -> None:
    _writable(p, tenant)
    fb = await get_feedback(conn, p, tenant, feedback_id, for_update=True)
    if status not in STATUSES or status not in NEXT[fb["status"]] or status == "answered":
        raise FeedbackError(f"Không chuyển được từ “{STATUS_LABELS[fb['status']]}” sang trạng thái này.")
    if status == "rejected" and not (reason or "").strip():
        raise FeedbackError("Xin ghi lý do không xử lý để báo cho người dân.")
    await conn.execute(
        "UPDATE feedback SET status = $3, closed_at = CASE WHEN $3 IN ('closed', 'rejected') THEN now() END, "
        "answer = CASE WHEN $3 = 'rejected' THEN $4 ELSE answer END, published = published AND $3 <> 'rejected' "
        "WHERE tenant_id = $1 AND id = $2", tenant.slug, feedback_id, status, (reason or "").strip() or None)
    await audit.record(conn, tenant.slug, p.actor, "status", "feedback", feedback_id,
                       before={"status": fb["status"]}, after={"status": status, "reason": reason})


async def answer(conn: asyncpg.Connection, runtime: Any, p: Principal, tenant: Tenant, feedback_id: int,
                 text: str) -> None:
    """Record the answer; a citizen who wrote from Zalo or the Mini App receives it on Zalo."""
    _writable(p, tenant)
    fb = await get_feedback(conn, p, tenant, feedback_id, for_update=True)
    text = (text or "").strip()
    if len(text) < 5:
        raise FeedbackError("Câu trả lời đang trống hoặc quá ngắn.")
    if fb["status"] not in ("received", "assigned", "processing", "answered"):
        raise FeedbackError("Phản ánh này đã đóng.")
    version = int((fb["data"] or {}).get("answers", 0)) + 1
    await conn.execute(
        "UPDATE feedback SET status = 'answered', answer = $3, answered_at = now(), assignee = coalesce(assignee, $4), "
        "data = data || jsonb_build_object('answers', $5::int, 'answered_by', $6::text) "
        "WHERE tenant_id = $1 AND id = $2", tenant.slug, feedback_id, text, p.email, version, p.name)
    if fb["citizen_id"] is not None and fb["channel"] in ("zalo", "miniapp"):
        from motcua.channels.zalo.outbox import queue_message

        message = f"Phản ánh “{fb['title'][:80]}” của ông/bà đã có trả lời từ {fb['agency_name'] or 'cơ quan chức năng'}:\n\n{text}"
        await queue_message(conn, runtime, tenant, fb["citizen_id"], kind="feedback_answer", text=message,
                            dedupe_key=f"feedback:{feedback_id}:answer:{version}",
                            zns=("answer_waiting", {"customer_name": fb["citizen_name"] or "",
                                                    "topic": fb["title"][:30]}))
    await audit.record(conn, tenant.slug, p.actor, "answer", "feedback", feedback_id,
                       before={"status": fb["status"], "answer": fb["answer"]},
                       after={"status": "answered", "answer": text})


async def publish(conn: asyncpg.Connection, p: Principal, tenant: Tenant, feedback_id: int,
                  public_text: str | None = None) -> None:
    """Show an answered item on the public page; the question is shown masked of personal data."""
    _writable(p, tenant)
    fb = await get_feedback(conn, p, tenant, feedback_id, for_update=True)
    if fb["status"] not in ("answered", "closed"):
        raise FeedbackError("Chỉ công khai được phản ánh đã có trả lời.")
    shown = mask_personal_data((public_text or "").strip() or fb["content"])
    await conn.execute("UPDATE feedback SET published = true, public_text = $3, published_at = now() "
                       "WHERE tenant_id = $1 AND id = $2", tenant.slug, feedback_id, shown)
    await audit.record(conn, tenant.slug, p.actor, "publish", "feedback", feedback_id,
                       before={"published": fb["published"]}, after={"published": True, "public_text": shown})


async def unpublish(conn: asyncpg.Connection, p: Principal, tenant: Tenant, feedback_id: int) -> None:
    _writable(p, tenant)
    fb = await get_feedback(conn, p, tenant, feedback_id, for_update=True)
    await conn.execute("UPDATE feedback SET published = false WHERE tenant_id = $1 AND id = $2", tenant.slug, feedback_id)
    await audit.record(conn, tenant.slug, p.actor, "unpublish", "feedback", feedback_id,
                       before={"published": fb["published"]}, after={"published": False})


async def public_items(conn: asyncpg.Connection, tenant: Tenant, *, limit: int = 50,
                       offset: int = 0) -> list[dict[str, Any]]:
    """Published items, newest first, with only what may be public: no names, contacts or photos."""
    rows = await conn.fetch(
        "SELECT f.id, f.category, f.title, f.public_text, f.answer, f.answered_at, f.created_at, a.name AS agency_name "
        "FROM feedback f LEFT JOIN agency a ON a.tenant_id = f.tenant_id AND a.code = f.agency_code "
        "WHERE f.tenant_id = $1 AND f.published AND f.status IN ('answered', 'closed') "
        "ORDER BY f.published_at DESC NULLS LAST, f.id DESC LIMIT $2 OFFSET $3", tenant.slug, limit, offset)
    return [{"id": r["id"], "category": CATEGORIES.get(r["category"], r["category"]),
             "title": mask_personal_data(r["title"]), "question": r["public_text"], "answer": r["answer"],
             "agency": r["agency_name"], "asked_at": r["created_at"], "answered_at": r["answered_at"]} for r in rows]
