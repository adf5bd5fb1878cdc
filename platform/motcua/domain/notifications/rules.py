"""Which timeline events notify, what the message says, and when it may be sent.

Messages follow the one-stop rules (onestop.md §2.2): the receipt on reception; which papers and
until when on a supplement request; "mời ông/bà đến nhận kết quả" when resolved (saying when
it is early); a rating request when returned; an apology with the new date when late.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from motcua.domain.conversation.dossier import DossierView, vn_date
from motcua.onestop.records import Timing

# Timeline event -> notification kind (the names of [notifications].events and zns_templates).
STATUS_KINDS = {"received": "received", "supplement_required": "supplement_required",
                "awaiting_payment": "awaiting_payment", "resolved": "resolved", "returned": "returned",
                "not_accepted": "not_accepted", "stopped": "stopped"}

DEFAULT_TEMPLATES: dict[str, str] = {
    "received": "Hồ sơ {code} ({procedure}) đã được tiếp nhận tại {agency}. Ngày hẹn trả kết quả: {due}. "
                "Đây là giấy tiếp nhận điện tử của ông/bà: {link}",
    "supplement_required": "Hồ sơ {code} cần bổ sung giấy tờ: {papers}. Xin ông/bà bổ sung trước ngày {deadline}. "
                           "{note}Chi tiết: {link}",
    "awaiting_payment": "Hồ sơ {code} cần thực hiện nghĩa vụ tài chính (nộp phí, lệ phí). {note}Chi tiết: {link}",
    "resolved": "Hồ sơ {code} ({procedure}) đã có kết quả{early}. Mời ông/bà đến nhận kết quả tại {agency}. "
                "Chi tiết: {link}",
    "returned": "Hồ sơ {code} đã trả kết quả. Cảm ơn ông/bà! Xin ông/bà dành một phút đánh giá mức độ hài lòng "
                "để chúng tôi phục vụ tốt hơn: {link}",
    "overdue": "Thành thật xin lỗi ông/bà: hồ sơ {code} ({procedure}) chưa có kết quả đúng hẹn ngày {old_due}. "
               "{reason}Ngày hẹn trả mới: {new_due}. Phiếu xin lỗi và hẹn lại: {link}",
    # The due date passed and no new date is known yet: the apology comes, with the date, later.
    "overdue_notice": "Thành thật xin lỗi ông/bà: hồ sơ {code} ({procedure}) chưa có kết quả đúng hẹn ngày {due}. "
                      "Cơ quan giải quyết sẽ gửi phiếu xin lỗi và hẹn lại ngày trả kết quả; chúng tôi sẽ nhắn ông/bà "
                      "ngay khi có ngày hẹn mới. Chi tiết: {link}",
    "not_accepted": "Hồ sơ {code} không được tiếp nhận. {note}Xin ông/bà xem chi tiết: {link}",
    "stopped": "Hồ sơ {code} đã dừng giải quyết. {note}Chi tiết: {link}",
}

RATING_BUTTON = "Đánh giá hài lòng"


@dataclass
class Notice:
    kind: str
    text: str
    zns_params: dict[str, Any]
    button: tuple[str, str] | None  # (title, url)


def kind_for_event(kind: str, status: str | None, data: dict[str, Any]) -> str | None:
    if kind in ("created", "status_changed") and status in STATUS_KINDS:
        return STATUS_KINDS[status]
    if kind == "due_changed":
        old, new = _when(previous_due(data)), _when(data.get("due_at") or data.get("new_due_at"))
        # A due date moved later is the apology-and-new-date case; earlier is not worth a message.
        if old and new and new <= old:
            return None
        return "overdue"
    if kind == "overdue":  # the due date passed without a result (the notifier's own sweep)
        return "overdue"
    return None


def previous_due(data: dict[str, Any]) -> Any:
    return data.get("previous_due_at") or data.get("old_due_at")


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


class _Safe(dict):
    def __missing__(self, key: str) -> str:
        return ""


def render(kind: str, view: DossierView, link: str, *, tz: str, templates: dict[str, str],
           event_note: str | None = None, event_data: dict[str, Any] | None = None) -> Notice:
    data = event_data or {}
    early = view.timing is Timing.early and kind == "resolved"
    deadline = data.get("deadline") or data.get("supplement_due_at")
    old_due = previous_due(data)
    values = {
        "code": view.code,
        "procedure": view.procedure_name or "thủ tục hành chính",
        "agency": view.agency_name or "bộ phận một cửa",
        "due": vn_date(view.due_at, tz),
        "status": view.short_status,
        "papers": "; ".join(view.missing_papers) or "theo hướng dẫn của cán bộ",
        "deadline": _date_text(deadline, tz) if deadline else "cán bộ hẹn",
        "note": f"{event_note}. " if event_note else (f"{view.note}. " if view.note else ""),
        "reason": f"Lý do: {event_note}. " if event_note else "",
        "old_due": _date_text(old_due, tz) if old_due else vn_date(view.due_at, tz),
        "new_due": vn_date(view.due_at, tz),
        "early": f" sớm hơn ngày hẹn ({vn_date(view.due_at, tz)})" if early else "",
        "link": link,
    }
    if kind == "overdue" and not old_due:
        template = DEFAULT_TEMPLATES["overdue_notice"]
    else:
        template = templates.get(kind) or DEFAULT_TEMPLATES.get(kind) or "Hồ sơ {code}: {status}. Chi tiết: {link}"
    text = string.Formatter().vformat(template, (), _Safe(values))
    zns = {"ma_ho_so": view.code, "ten_thu_tuc": values["procedure"][:100], "trang_thai": view.short_status,
           "ngay_hen_tra": values["due"], "lien_ket": link}
    if kind == "supplement_required":
        zns["giay_to_bo_sung"] = values["papers"][:200]
    if kind == "overdue":
        zns |= {"ngay_hen_cu": values["old_due"], "ngay_hen_moi": values["new_due"]}
    button = (RATING_BUTTON, link) if kind == "returned" else ("Xem hồ sơ", link)
    return Notice(kind, text, zns, button)


def _date_text(value: Any, tz: str) -> str:
    when = _when(value)
    return vn_date(when, tz) if when else str(value)


def _hhmm(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


def after_quiet_hours(now: datetime, start: str, end: str, tz: str) -> datetime | None:
    """When a message created at ``now`` may go out: None if now is outside quiet hours, else
    the end of quiet hours (in the tenant's time zone). Quiet hours may wrap midnight."""
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    s, e = _hhmm(start), _hhmm(end)
    t = local_now.time()
    quiet = (s <= t < e) if s < e else (t >= s or t < e) if s != e else False
    if not quiet:
        return None
    end_day = local_now.date() if t < e else local_now.date() + timedelta(days=1)
    return datetime.combine(end_day, e, tzinfo=zone)
