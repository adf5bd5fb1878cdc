"""Canonical records every adapter maps its one-stop system's payloads into.

A *dossier* (hồ sơ) is one citizen's application for one *procedure* (thủ tục hành chính).
Statuses follow the national public-service portal's ten codes one to one (see
ARCHITECTURE.md); whatever a system reports that no table covers becomes ``unknown`` with the
raw value kept, never a guess. Wire payloads live in each adapter; nothing here knows them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from datetime import datetime

import msgspec


class Status(enum.StrEnum):
    """Canonical dossier status; the value is what we store and show in the API."""

    submitted = "submitted"  # 1 Mới đăng ký
    received = "received"  # 2 Được tiếp nhận
    not_accepted = "not_accepted"  # 3 Không được tiếp nhận
    processing = "processing"  # 4 Đang xử lý
    supplement_required = "supplement_required"  # 5 Yêu cầu bổ sung giấy tờ
    awaiting_payment = "awaiting_payment"  # 6 Yêu cầu thực hiện nghĩa vụ tài chính
    withdrawn = "withdrawn"  # 7 Công dân yêu cầu rút hồ sơ
    stopped = "stopped"  # 8 Dừng xử lý
    resolved = "resolved"  # 9 Đã xử lý xong
    returned = "returned"  # 10 Đã trả kết quả
    unknown = "unknown"  # a raw status no mapping covers; flagged to the tenant's admins

    @property
    def national_code(self) -> int | None:
        return _NATIONAL_CODE.get(self)

    @classmethod
    def from_national_code(cls, code: int | str) -> Status:
        return _BY_NATIONAL_CODE.get(int(code), cls.unknown)

    @property
    def label_vi(self) -> str:
        return STATUS_LABELS_VI[self]

    @property
    def is_final(self) -> bool:
        """No further change is expected (the clock stops)."""
        return self in _FINAL


_NATIONAL_CODE = {s: i for i, s in enumerate(list(Status)[:10], start=1)}
_BY_NATIONAL_CODE = {i: s for s, i in _NATIONAL_CODE.items()}
_FINAL = {Status.not_accepted, Status.withdrawn, Status.stopped, Status.returned}

STATUS_LABELS_VI: dict[Status, str] = {
    Status.submitted: "Mới đăng ký",
    Status.received: "Được tiếp nhận",
    Status.not_accepted: "Không được tiếp nhận",
    Status.processing: "Đang xử lý",
    Status.supplement_required: "Yêu cầu bổ sung giấy tờ",
    Status.awaiting_payment: "Yêu cầu thực hiện nghĩa vụ tài chính",
    Status.withdrawn: "Công dân yêu cầu rút hồ sơ",
    Status.stopped: "Dừng xử lý",
    Status.resolved: "Đã xử lý xong",
    Status.returned: "Đã trả kết quả",
    Status.unknown: "Chưa xác định",
}


class Timing(enum.StrEnum):
    """Derived from due, finish and return dates: never stored as truth, always recomputed."""

    early = "early"  # finished before the due date
    on_time = "on_time"  # finished on the due date, or still open and not yet due
    overdue = "overdue"  # finished after it, or still open past it


def timing(due_at: datetime | None, finished_at: datetime | None, now: datetime) -> Timing | None:
    """Early / on time / overdue. Finishing on the due *day* counts as on time, as the
    one-stop rules count days, not hours; open dossiers are on time until their due moment."""
    if due_at is None:
        return None
    if finished_at is None:
        return Timing.overdue if now > due_at else Timing.on_time
    if finished_at.date() < due_at.date():
        return Timing.early
    return Timing.on_time if finished_at <= due_at or finished_at.date() == due_at.date() else Timing.overdue


class RawStatus(msgspec.Struct, frozen=True):
    """The value the one-stop system reported, kept beside the canonical status for audit."""

    code: str
    label: str | None = None


class Agency(msgspec.Struct, frozen=True):
    """An agency (cơ quan): its electronic identifier (mã định danh) and name."""

    code: str
    name: str


class Dossier(msgspec.Struct, kw_only=True):
    """One dossier as the one-stop system knows it now."""

    code: str
    status: Status
    raw_status: RawStatus
    procedure_code: str | None = None
    procedure_name: str | None = None
    agency: Agency | None = None  # the handling agency
    handler: str | None = None  # the officer handling it, as the system names them
    applicant_name: str | None = None
    applicant_phone: str | None = None  # personal data: shown only to the linked citizen
    applicant_id_number: str | None = None  # personal data (CCCD): never shown, hashed for lookups
    submitted_at: datetime | None = None
    received_at: datetime | None = None
    due_at: datetime | None = None
    finished_at: datetime | None = None
    returned_at: datetime | None = None
    online: bool = False
    missing_papers: list[str] = []  # what a supplement request asks for
    note: str | None = None  # the system's reason or comment on the latest change
    alt_codes: list[str] = []  # pre-merger or provider-internal codes
    updated_at: datetime | None = None  # when the system last changed it


class ChangePage(msgspec.Struct, kw_only=True):
    """One page of a change feed: the dossiers that changed and where to resume."""

    dossiers: list[Dossier]
    cursor: str  # opaque; persisted by the core and handed back unchanged
    has_more: bool = False
    quarantined: list[Quarantined] = []


class Quarantined(msgspec.Struct, frozen=True):
    """A record the adapter could not map: kept with its reason, never dropped silently."""

    reason: str
    raw: str
    code: str | None = None


def map_each(records: Iterable[bytes | msgspec.Raw], decode: Callable[[bytes | msgspec.Raw], Dossier],
             code_field: str) -> tuple[list[Dossier], list[Quarantined]]:
    """Map each raw JSON record alone: a bad one is quarantined with its reason (and its code,
    read from ``code_field`` when the record is JSON at all), the rest still flow."""
    dossiers: list[Dossier] = []
    quarantined: list[Quarantined] = []
    for raw in records:
        try:
            dossiers.append(decode(raw))
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError) as exc:
            try:
                code = msgspec.json.decode(raw).get(code_field)
            except Exception:  # noqa: BLE001 - the code is only a hint for the admin
                code = None
            quarantined.append(Quarantined(reason=str(exc), raw=bytes(raw).decode(errors="replace"),
                                           code=code if isinstance(code, str) else None))
    return dossiers, quarantined


class PushedChange(msgspec.Struct, kw_only=True):
    """A status change the one-stop system pushed to us."""

    event_id: str
    dossier: Dossier


class Paper(msgspec.Struct, kw_only=True):
    """A paper (thành phần hồ sơ) a procedure requires."""

    code: str
    name: str
    copies: int = 1
    required: bool = True


class Procedure(msgspec.Struct, kw_only=True):
    """A procedure (thủ tục hành chính) in the province's catalogue."""

    code: str
    name: str
    sector: str | None = None
    agency: Agency | None = None
    level: str | None = None  # province / commune
    processing_days: float | None = None
    fee: str | None = None
    online: bool = False  # can be submitted online
    papers: list[Paper] = []
    form: list[FormField] = []


class FormField(msgspec.Struct, kw_only=True):
    """A field of an online form."""

    name: str
    label: str
    type: str = "text"  # text, date, phone, id_number, number, select, textarea
    required: bool = True
    options: list[str] = []


class Attachment(msgspec.Struct, kw_only=True):
    paper_code: str
    filename: str
    content_type: str
    data: bytes


class Submission(msgspec.Struct, kw_only=True):
    """An online submission. ``idempotency_key`` lets a system that supports it drop repeats."""

    idempotency_key: str
    procedure_code: str
    applicant_name: str
    applicant_phone: str | None = None
    applicant_id_number: str | None = None
    fields: dict[str, str] = {}
    attachments: list[Attachment] = []


class Receipt(msgspec.Struct, kw_only=True):
    """What the system returns for an accepted submission."""

    code: str
    status: Status = Status.submitted
    received_at: datetime | None = None
    due_at: datetime | None = None


class Evaluation(msgspec.Struct, kw_only=True):
    """A citizen's rating (đánh giá mức độ hài lòng) of one dossier's handling."""

    dossier_code: str
    overall: int  # 1 unsatisfied, 2 satisfied, 3 very satisfied
    criteria: dict[str, int] = {}  # criterion id -> 0..2, per the regulation's indices
    comment: str | None = None
    rated_at: datetime | None = None


class Feedback(msgspec.Struct, kw_only=True):
    """Feedback or a petition (phản ánh, kiến nghị) forwarded to the one-stop system."""

    reference: str
    category: str
    title: str
    content: str
    agency_code: str | None = None


class PostalAddress(msgspec.Struct, kw_only=True):
    receiver_name: str
    phone: str
    province_code: str
    ward_code: str
    street: str


class PostalRequest(msgspec.Struct, kw_only=True):
    """A request to receive the result by post."""

    dossier_code: str
    address: PostalAddress
    fee: int | None = None


class PostalReceipt(msgspec.Struct, kw_only=True):
    reference: str
    status: str = "registered"
