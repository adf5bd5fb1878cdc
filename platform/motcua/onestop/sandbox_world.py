"""The shared world behind every sandbox one-stop system: dossiers, their lives, a clock, faults.

Each adapter family's ``sandbox.py`` adds only its protocol (tokens, envelopes, field names) on
top of one ``World``; what a dossier is, how it moves from received to returned, the sample
procedures, the applicants and officers, the clock and the fault switches live here, so the
three protocols tell the same story and the conformance suite controls them the same way.

The world is deterministic: it is seeded from the tenant's slug and built around a start time,
and it only changes when its clock moves (in real time by default, ``MOTCUA_SANDBOX_SPEED`` times
faster when that is set, or when a test advances it)
or when the control API says so. Every change is stamped in the dossier's history; change feeds
answer "dossiers with a change in [from, to)", which stays stable while a client pages.

Control API (JSON; served by every sandbox under ``/_sandbox``; never by a real system)::

    GET    /_sandbox/state                     {"now", "speed", "dossiers", "tokens_issued", "push_target", "faults"}
    POST   /_sandbox/clock                     {"advance_seconds": 3600} | {"set": ISO} | {"speed": 60}; -> {"now"}
    GET    /_sandbox/dossiers                  [{"code", "status", "raw_status", "updated_at", "phone", "id_number"}]
    POST   /_sandbox/dossiers                  {"procedure_code"?, "status"?: canonical, "online"?, "applicant_phone"?,
                                                "applicant_id_number"?, "auto"?: follow a seeded life} -> the dossier
    GET    /_sandbox/dossiers/{code}           the dossier, with its history
    POST   /_sandbox/dossiers/{code}/status    {"status": canonical, "note"?, "missing_papers"?} | {"raw": "42"}
                                                (a raw status the family reports verbatim, e.g. one no table covers)
    POST   /_sandbox/dossiers/{code}/corrupt   the family now renders this dossier malformed (a bad date)
    POST   /_sandbox/faults                    {"latency_ms"?, "status"?: 503, "count"?: n (omit: until cleared),
                                                "malformed"?: n (truncated bodies), "expire_tokens"?: true}
    DELETE /_sandbox/faults                    clear every fault
    GET    /_sandbox/received/{kind}           what the system received: submissions | evaluations | feedback | postal
    PUT    /_sandbox/push-target               {"url": "http://.../onestop/dong-nai/events"} (families that push)
    GET    /_sandbox/pushes                    the pushes sent: [{"url", "event_id", "code", "status", "response"}]
    POST   /_sandbox/push-sample               {"code"} -> {"body", "headers"}: a signed push, not sent

``SandboxControl`` is the client of this API that tests and the conformance suite use.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from motcua.onestop.codes import normalize_code
from motcua.onestop.records import Status

VN = ZoneInfo("Asia/Ho_Chi_Minh")


# -- sample data -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SampleProcedure:
    code: str
    name: str
    sector: str
    agency_part: str  # the department's middle code (07 = Sở Tư pháp) or "commune"
    days: int  # processing time in working days
    fee: str
    online: bool
    papers: tuple[tuple[str, str], ...]
    form: tuple[tuple[str, str, str], ...] = ()  # (name, label, type) for online procedures


# Codes from the national procedure catalogue. Only 1.001193 is confirmed by our reference
# (onestop.md §1.6); the others are the codes the catalogue is believed to use and are
# UNCONFIRMED until checked against CSDLQG TTHC. Names, times and fees are realistic, not legal text.
SAMPLE_PROCEDURES: tuple[SampleProcedure, ...] = (
    SampleProcedure("1.001193", "Đăng ký khai sinh", "Hộ tịch", "commune", 1, "Miễn lệ phí", True,
                    (("TP1", "Tờ khai đăng ký khai sinh"), ("TP2", "Giấy chứng sinh")),
                    (("ho_ten_tre", "Họ, chữ đệm, tên của trẻ", "text"), ("ngay_sinh", "Ngày sinh", "date"),
                     ("noi_sinh", "Nơi sinh", "text"), ("ho_ten_me", "Họ tên mẹ", "text"),
                     ("ho_ten_cha", "Họ tên cha", "text"))),
    SampleProcedure("1.000894", "Đăng ký kết hôn", "Hộ tịch", "commune", 5, "Miễn lệ phí", True,  # code UNCONFIRMED
                    (("TP1", "Tờ khai đăng ký kết hôn"), ("TP2", "Giấy xác nhận tình trạng hôn nhân")),
                    (("ho_ten_vo", "Họ tên bên nữ", "text"), ("ho_ten_chong", "Họ tên bên nam", "text"),
                     ("ngay_dang_ky", "Ngày dự kiến đăng ký", "date"))),
    SampleProcedure("2.000488", "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam", "Lý lịch tư pháp", "07", 10,
                    "200.000 đồng/lần", True,  # code UNCONFIRMED
                    (("TP1", "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp"), ("TP2", "Bản chụp Căn cước")),
                    (("muc_dich", "Mục đích sử dụng phiếu", "text"), ("so_ban", "Số bản phiếu", "number"))),
    SampleProcedure("2.000720", "Đăng ký thành lập hộ kinh doanh", "Thành lập và hoạt động của hộ kinh doanh",
                    "commune", 3, "100.000 đồng", True,  # code UNCONFIRMED
                    (("TP1", "Giấy đề nghị đăng ký hộ kinh doanh"), ("TP2", "Bản sao giấy tờ pháp lý của chủ hộ")),
                    (("ten_ho_kinh_doanh", "Tên hộ kinh doanh", "text"), ("nganh_nghe", "Ngành, nghề kinh doanh", "text"),
                     ("von", "Vốn kinh doanh (đồng)", "number"))),
    SampleProcedure("1.009994", "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ", "Hoạt động xây dựng", "05", 15,
                    "75.000 đồng", False,  # code UNCONFIRMED
                    (("TP1", "Đơn đề nghị cấp giấy phép xây dựng"), ("TP2", "Giấy tờ về quyền sử dụng đất"),
                     ("TP3", "Bản vẽ thiết kế xây dựng"))),
    SampleProcedure("1.012753", "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
                    "Đất đai", "13", 10, "Theo quy định của HĐND tỉnh", False,  # code UNCONFIRMED
                    (("TP1", "Đơn đăng ký biến động đất đai"), ("TP2", "Giấy chứng nhận đã cấp"))),
    SampleProcedure("1.001022", "Chứng thực bản sao từ bản chính giấy tờ, văn bản", "Chứng thực", "commune", 1,
                    "2.000 đồng/trang", False,  # code UNCONFIRMED
                    (("TP1", "Bản chính giấy tờ, văn bản"), ("TP2", "Bản sao cần chứng thực"))),
)

_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Trương", "Bùi", "Đặng", "Đỗ", "Ngô", "Dương", "Lý")
_MIDDLE = ("Văn", "Thị", "Minh", "Ngọc", "Thanh", "Hoàng", "Thu", "Quốc", "Kim", "Hữu", "Bảo", "Mỹ")
_GIVEN = ("An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Hạnh", "Hùng", "Khoa", "Lan", "Linh", "Long", "Mai", "Nam",
          "Nhung", "Phúc", "Quân", "Tâm", "Thảo", "Trinh", "Tuấn", "Vy", "Yến")
_MISSING = ("Bản sao Giấy chứng nhận quyền sử dụng đất có chứng thực", "Tờ khai có chữ ký của người yêu cầu",
            "Bản chụp Căn cước của người được ủy quyền", "Văn bản ủy quyền có chứng thực")
_NOTES = {
    Status.received: "Hồ sơ đã được tiếp nhận",
    Status.processing: "Chuyển phòng chuyên môn thẩm định",
    Status.supplement_required: "Đề nghị bổ sung giấy tờ",
    Status.awaiting_payment: "Đề nghị nộp phí, lệ phí",
    Status.resolved: "Đã có kết quả, mời công dân nhận kết quả",
    Status.returned: "Đã trả kết quả cho công dân",
    Status.not_accepted: "Hồ sơ không đủ điều kiện tiếp nhận",
    Status.withdrawn: "Công dân đề nghị rút hồ sơ",
    Status.stopped: "Dừng xử lý do không đủ điều kiện",
}


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}"


def add_working_days(start: datetime, days: float) -> datetime:
    """Due dates count working days (Monday to Friday); the result is due at 17:00."""
    day, left = start, max(1, round(days))
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day.replace(hour=17, minute=0, second=0, microsecond=0)


# -- the world ---------------------------------------------------------------------------------

@dataclass
class Step:
    at: datetime
    status: Status
    note: str | None = None
    missing_papers: tuple[str, ...] = ()


@dataclass
class SimDossier:
    code: str
    procedure: SampleProcedure
    receiving_agency: tuple[str, str]  # (code, name)
    agency: tuple[str, str]  # the handling agency
    handler: str
    applicant_name: str
    applicant_phone: str
    applicant_id_number: str
    online: bool
    submitted_at: datetime
    status: Status = Status.submitted
    raw_override: str | None = None  # a raw status the family reports verbatim
    received_at: datetime | None = None
    due_at: datetime | None = None
    finished_at: datetime | None = None
    returned_at: datetime | None = None
    missing_papers: list[str] = field(default_factory=list)
    note: str | None = None
    updated_at: datetime | None = None
    history: list[tuple[datetime, str]] = field(default_factory=list)  # (stamp, status or raw)
    plan: list[Step] = field(default_factory=list)
    corrupt: bool = False
    fields: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"code": self.code, "status": str(self.status), "raw_status": self.raw_override,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None,
                "phone": self.applicant_phone, "id_number": self.applicant_id_number,
                "procedure_code": self.procedure.code, "online": self.online}

    def detail(self) -> dict[str, Any]:
        iso = lambda d: d.isoformat() if d else None  # noqa: E731
        return {**self.summary(), "procedure_name": self.procedure.name, "agency": list(self.agency),
                "receiving_agency": list(self.receiving_agency), "handler": self.handler,
                "applicant_name": self.applicant_name, "submitted_at": iso(self.submitted_at),
                "received_at": iso(self.received_at), "due_at": iso(self.due_at), "finished_at": iso(self.finished_at),
                "returned_at": iso(self.returned_at), "missing_papers": self.missing_papers, "note": self.note,
                "history": [[iso(at), s] for at, s in self.history], "corrupt": self.corrupt}


@dataclass
class Faults:
    latency_ms: int = 0
    status: int | None = None
    count: int | None = None  # how many requests fail with ``status``; None: until cleared
    malformed: int = 0  # how many bodies come back truncated

    def take_failure(self) -> int | None:
        if self.status is None:
            return None
        if self.count is not None:
            if self.count <= 0:
                return None
            self.count -= 1
        return self.status

    def take_malformed(self) -> bool:
        if self.malformed > 0:
            self.malformed -= 1
            return True
        return False


ChangeListener = Callable[[SimDossier], Awaitable[None] | None]


class World:
    """One province's one-stop system, seen from the inside."""

    def __init__(self, tenant: Any, *, seed: int | None = None, start: datetime | None = None,
                 initial: int = 36, speed: float | None = None) -> None:
        self.tenant = tenant
        self.slug: str = tenant.slug
        self.rng = random.Random(zlib.crc32(self.slug.encode()) if seed is None else seed)
        self._base = (start or datetime.now(VN)).astimezone(VN)
        self._real0 = time.monotonic()
        self._offset = timedelta()
        # Real time by default; a demo may run its provinces' clocks faster (60: a minute a second).
        self.speed = float(os.environ.get("MOTCUA_SANDBOX_SPEED", "1")) if speed is None else speed
        self.dossiers: dict[str, SimDossier] = {}  # normalised code -> dossier, in creation order
        self._sequences: dict[tuple[str, str], int] = {}
        self.faults = Faults()
        self.received: dict[str, list[dict[str, Any]]] = {k: [] for k in ("submissions", "evaluations", "feedback", "postal")}
        self.idempotency: dict[str, str] = {}  # submission key -> code
        self.tokens_issued = 0
        self.token_epoch = 0  # bumped to expire every issued token at once
        self.push_target: str | None = None
        self.pushes: list[dict[str, Any]] = []
        self.listeners: list[ChangeListener] = []
        self._agencies = _agencies(tenant)
        self._seed_dossiers(initial)

    # clock
    def now(self) -> datetime:
        real = time.monotonic() - self._real0
        return self._base + self._offset + timedelta(seconds=real * self.speed)

    def advance(self, seconds: float) -> datetime:
        self._offset += timedelta(seconds=seconds)
        self.tick()
        return self.now()

    def set_now(self, when: datetime) -> datetime:
        self._offset += when.astimezone(VN) - self.now()
        self.tick()
        return self.now()

    def window_end(self, resolution: timedelta) -> datetime:
        """The end of a change window served now: ``now`` floored to the protocol's resolution,
        so a change in the current tick belongs to the next window, never to none."""
        now = self.now()
        micro = int(resolution / timedelta(microseconds=1))
        epoch = datetime(2000, 1, 1, tzinfo=VN)
        return epoch + timedelta(microseconds=((now - epoch) // timedelta(microseconds=1)) // micro * micro)

    # lives
    def tick(self) -> list[SimDossier]:
        """Apply every planned step that is due; listeners hear of each changed dossier."""
        now, changed = self.now(), []
        for d in self.dossiers.values():
            moved = False
            while d.plan and d.plan[0].at <= now:
                self._apply(d, d.plan.pop(0))
                moved = True
            if moved:
                changed.append(d)
        for d in changed:
            self._notify(d)
        return changed

    def _apply(self, d: SimDossier, step: Step) -> None:
        d.status, d.raw_override = step.status, None
        d.note = step.note or _NOTES.get(step.status)
        d.missing_papers = list(step.missing_papers)
        if step.status is Status.received and d.received_at is None:
            d.received_at = step.at
            d.due_at = add_working_days(step.at, d.procedure.days)
        if step.status is Status.processing and d.received_at is None:
            d.received_at = step.at
        if step.status is Status.resolved:
            d.finished_at = step.at
        if step.status is Status.returned:
            d.finished_at = d.finished_at or step.at
            d.returned_at = step.at
        if step.status in (Status.not_accepted, Status.withdrawn, Status.stopped):
            d.finished_at = step.at
        d.updated_at = step.at
        d.history.append((step.at, str(step.status)))

    def _notify(self, d: SimDossier) -> None:
        for listener in self.listeners:
            result = listener(d)
            if asyncio.iscoroutine(result):
                asyncio.ensure_future(result)

    def _plan(self, d: SimDossier, start: datetime) -> list[Step]:
        """A seeded life: received, processing, maybe a supplement or a fee, resolved early or
        late, returned; a few are refused, withdrawn or stopped."""
        rng, proc = self.rng, d.procedure
        h = lambda lo, hi: timedelta(hours=rng.uniform(lo, hi))  # noqa: E731
        steps, at = [], start
        if d.online:
            steps.append(Step(at, Status.submitted, "Hồ sơ nộp trực tuyến, chờ tiếp nhận"))
            at += h(0.5, 20)
            if rng.random() < 0.05:
                return [*steps, Step(at, Status.not_accepted)]
        steps.append(Step(at, Status.received))
        received = at
        due = add_working_days(received, proc.days)
        at += h(0.2, 6)
        steps.append(Step(at, Status.processing))
        roll = rng.random()
        if roll < 0.03:
            return [*steps, Step(at + h(2, 48), Status.withdrawn)]
        if roll < 0.06:
            return [*steps, Step(at + h(2, 48), Status.stopped)]
        if roll < 0.26:
            at += h(2, 30)
            steps.append(Step(at, Status.supplement_required, None, (rng.choice(_MISSING),)))
            at += h(20, 72)
            steps.append(Step(at, Status.processing, "Công dân đã bổ sung giấy tờ"))
        if rng.random() < 0.12:
            at += h(1, 24)
            steps.append(Step(at, Status.awaiting_payment))
            at += h(2, 48)
            steps.append(Step(at, Status.processing, "Đã nộp phí, lệ phí"))
        # Most finish on or before the due date; about one in six is late.
        span = max(due - received, timedelta(hours=6))
        finish = received + span * rng.uniform(0.35, 0.98) if rng.random() > 0.17 else due + h(6, 96)
        at = max(at + h(1, 4), finish)
        steps.append(Step(at, Status.resolved))
        steps.append(Step(at + h(3, 72), Status.returned))
        return steps

    def _seed_dossiers(self, count: int) -> None:
        now = self._base
        for _ in range(count):
            start = now - timedelta(days=self.rng.uniform(0.2, 30))
            proc = self.rng.choice(SAMPLE_PROCEDURES)
            d = self._new(proc, start, online=proc.online and self.rng.random() < 0.5)
            d.plan = self._plan(d, start)
            while d.plan and d.plan[0].at <= now:
                self._apply(d, d.plan.pop(0))
        # Codes follow receipt order, as the sequence service hands them out.
        self.dossiers = dict(sorted(self.dossiers.items(), key=lambda kv: kv[1].submitted_at))

    def _new(self, proc: SampleProcedure, at: datetime, *, online: bool, phone: str | None = None,
             id_number: str | None = None, name: str | None = None) -> SimDossier:
        rng = self.rng
        handling = self._agency_for(proc)
        receiving = handling if proc.agency_part == "commune" else self._agencies["center"]
        day = at.strftime("%y%m%d")
        seq = self._sequences[(receiving[0], day)] = self._sequences.get((receiving[0], day), 0) + 1
        code = f"{receiving[0]}-{day}-{seq:04d}"
        province = getattr(self.tenant.file, "stat_code", "00")
        d = SimDossier(
            code=code, procedure=proc, receiving_agency=receiving, agency=handling, handler=person_name(rng),
            applicant_name=name or person_name(rng),
            applicant_phone=phone or f"09{rng.randrange(10**8):08d}",
            applicant_id_number=id_number or f"0{province}{rng.choice('0123')}{rng.randrange(10**8):08d}"[:12],
            online=online, submitted_at=at, updated_at=at)
        self.dossiers[normalize_code(code)] = d
        return d

    def agency_of(self, proc: SampleProcedure) -> tuple[str, str]:
        """The agency a catalogue lists for a procedure (communes: the first one)."""
        if proc.agency_part == "commune" and self._agencies["communes"]:
            return self._agencies["communes"][0]
        return self._agency_for(proc)

    def _agency_for(self, proc: SampleProcedure) -> tuple[str, str]:
        if proc.agency_part == "commune":
            return self.rng.choice(self._agencies["communes"]) if self._agencies["communes"] else self._agencies["center"]
        for code, name in self._agencies["departments"]:
            if code.split(".")[2:3] == [proc.agency_part]:
                return code, name
        return self._agencies["center"]

    # what the protocols and the control API call
    def find(self, code: str) -> SimDossier | None:
        return self.dossiers.get(normalize_code(code))

    def by_owner(self, *, phone: str | None = None, id_number: str | None = None) -> list[SimDossier]:
        return [d for d in self.dossiers.values()
                if (phone and d.applicant_phone == phone) or (id_number and d.applicant_id_number == id_number)]

    def procedure(self, code: str) -> SampleProcedure | None:
        return next((p for p in SAMPLE_PROCEDURES if p.code == code or code.startswith(p.code + ".")), None)

    def changed_between(self, since: datetime | None, until: datetime) -> list[SimDossier]:
        """Dossiers with a change stamped in [since, until), by their first such change then code.
        The order and membership do not move when a listed dossier changes again meanwhile."""
        keyed = []
        for d in self.dossiers.values():
            stamps = [at for at, _ in d.history if (since is None or at >= since) and at < until]
            if stamps:
                keyed.append((min(stamps), d.code, d))
        return [d for _, _, d in sorted(keyed, key=lambda k: (k[0], k[1]))]

    def create(self, *, procedure_code: str | None = None, status: Status = Status.received, online: bool = False,
               applicant_phone: str | None = None, applicant_id_number: str | None = None,
               applicant_name: str | None = None, auto: bool = False) -> SimDossier:
        proc = self.procedure(procedure_code) if procedure_code else self.rng.choice(SAMPLE_PROCEDURES)
        if proc is None:
            raise KeyError(procedure_code)
        now = self.now()
        d = self._new(proc, now, online=online, phone=applicant_phone, id_number=applicant_id_number,
                      name=applicant_name)
        if auto:
            d.plan = self._plan(d, now)
            self.tick()
        else:
            if online or status is Status.submitted:
                self._apply(d, Step(now, Status.submitted, "Hồ sơ nộp trực tuyến, chờ tiếp nhận"))
            if status is not Status.submitted:
                self.move(d.code, status)
            else:
                self._notify(d)
        return d

    def move(self, code: str, status: Status | None = None, *, raw: str | None = None, note: str | None = None,
             missing_papers: Iterable[str] = ()) -> SimDossier:
        """Put a dossier in a state now; its seeded plan is dropped (a person took over)."""
        d = self.find(code)
        if d is None:
            raise KeyError(code)
        d.plan = []
        now = self.now()
        if raw is not None:
            d.raw_override, d.updated_at = raw, now
            d.history.append((now, raw))
        else:
            status = Status(status)
            if status is not Status.received and d.received_at is None and status is not Status.submitted:
                d.received_at, d.due_at = now, add_working_days(now, d.procedure.days)
            missing = list(missing_papers) or ([_MISSING[0]] if status is Status.supplement_required else [])
            self._apply(d, Step(now, status, note, tuple(missing)))
        self._notify(d)
        return d

    def submit(self, *, idempotency_key: str, procedure_code: str, applicant_name: str,
               applicant_phone: str | None = None, applicant_id_number: str | None = None,
               fields: dict[str, str] | None = None, attachments: int = 0, raw: Any = None) -> SimDossier:
        """An online submission; the same key gives back the same dossier (a safe retry)."""
        if idempotency_key in self.idempotency:
            return self.dossiers[normalize_code(self.idempotency[idempotency_key])]
        proc = self.procedure(procedure_code)
        if proc is None or not proc.online:
            raise KeyError(procedure_code)
        d = self.create(procedure_code=proc.code, status=Status.submitted, online=True, applicant_phone=applicant_phone,
                        applicant_id_number=applicant_id_number, applicant_name=applicant_name)
        d.fields = dict(fields or {})
        d.due_at = add_working_days(d.submitted_at, proc.days)
        self.idempotency[idempotency_key] = d.code
        self.record("submissions", {"idempotency_key": idempotency_key, "code": d.code, "procedure_code": proc.code,
                                    "applicant_name": applicant_name, "attachments": attachments, "raw": raw})
        return d

    def record(self, kind: str, entry: dict[str, Any]) -> None:
        entry.setdefault("received_at", self.now().isoformat())
        self.received[kind].append(entry)

    def secret(self, name: str) -> str:
        return sandbox_secret(self.tenant, name)

    def state(self) -> dict[str, Any]:
        return {"now": self.now().isoformat(), "speed": self.speed, "dossiers": len(self.dossiers),
                "tokens_issued": self.tokens_issued, "push_target": self.push_target,
                "faults": {"latency_ms": self.faults.latency_ms, "status": self.faults.status,
                           "count": self.faults.count, "malformed": self.faults.malformed}}


def sandbox_secret(tenant: Any, name: str) -> str:
    """The value of a secret the tenant file names: the operator's environment variable, or a
    fixed development value when it is not set (a sandbox guards nothing real)."""
    env = tenant.file.adapter.secrets.get(f"{name}_env")
    return (os.environ.get(env) if env else None) or f"sandbox-{tenant.slug}-{name}"


def _agencies(tenant: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"center": None, "departments": [], "communes": []}
    for a in tenant.file.agencies:
        name = a.name or _commune_name(tenant, a.ward_code) or f"Ủy ban nhân dân xã {a.code}"
        if a.kind == "center":
            out["center"] = (a.code, name)
        elif a.kind == "commune":
            out["communes"].append((a.code, name))
        else:
            out["departments"].append((a.code, name))
    if out["center"] is None:
        out["center"] = out["departments"][0] if out["departments"] else (f"000.00.01.{tenant.file.agency_code}",
                                                                         "Trung tâm Phục vụ hành chính công")
    return out


def _commune_name(tenant: Any, ward_code: str | None) -> str | None:
    if not ward_code:
        return None
    try:
        from vietnam_provinces import Ward, WardCode

        return f"Ủy ban nhân dân {Ward.from_code(WardCode(int(ward_code))).name}"
    except Exception:  # noqa: BLE001 - a missing name only makes the sample data plainer
        return None


# -- the ASGI pieces every sandbox shares ------------------------------------------------------

class FaultInjector:
    """ASGI wrapper: ticks the world, then applies latency, failures and truncated bodies to
    every protocol request (never to the control API)."""

    def __init__(self, app: Any, world: World) -> None:
        self.app, self.world = app, world

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        world, faults = self.world, self.world.faults
        world.tick()
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        status = faults.take_failure()
        if status is not None:
            body = b"<html><body><h1>Service Unavailable</h1></body></html>"
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        if not faults.take_malformed():
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    body = b"".join(chunks)
                    body = body[: max(1, len(body) // 2)]  # cut mid-document, as a broken proxy would
                    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                    headers.append((b"content-length", str(len(body)).encode()))
                    await send({**start, "headers": headers})
                    await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)


def control_router(world: World, *, push_sample: Callable[[SimDossier], tuple[bytes, dict[str, str]]] | None = None):
    """The ``/_sandbox`` control API (see the module docstring)."""
    from litestar import Router, delete, get, post, put
    from litestar.exceptions import HTTPException, NotFoundException
    from litestar.params import FromPath, JSONBody

    def dossier(code: FromPath[str]) -> SimDossier:
        d = world.find(code)
        if d is None:
            raise NotFoundException(f"no dossier {code}")
        return d

    @get("/state", sync_to_thread=False)
    def state() -> dict[str, Any]:
        return world.state()

    @post("/clock", sync_to_thread=False, status_code=200)
    def clock(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        if "speed" in data:
            world.advance(0)
            now = world.now()
            world.speed = float(data["speed"])
            world._real0 = time.monotonic()
            world._base, world._offset = now, timedelta()
        if "set" in data:
            world.set_now(datetime.fromisoformat(data["set"]))
        if "advance_seconds" in data:
            world.advance(float(data["advance_seconds"]))
        return {"now": world.now().isoformat()}

    @get("/dossiers", sync_to_thread=False)
    def dossiers() -> list[dict[str, Any]]:
        world.tick()
        return [d.summary() for d in world.dossiers.values()]

    @post("/dossiers", sync_to_thread=False, status_code=201)
    def create(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        try:
            d = world.create(procedure_code=data.get("procedure_code"), status=Status(data.get("status", "received")),
                             online=bool(data.get("online", False)), applicant_phone=data.get("applicant_phone"),
                             applicant_id_number=data.get("applicant_id_number"),
                             applicant_name=data.get("applicant_name"), auto=bool(data.get("auto", False)))
        except (KeyError, ValueError) as exc:
            raise HTTPException(status_code=400, detail=f"bad dossier request: {exc}") from exc
        return d.detail()

    @get("/dossiers/{code:str}", sync_to_thread=False)
    def read(code: FromPath[str]) -> dict[str, Any]:
        world.tick()
        return dossier(code).detail()

    @post("/dossiers/{code:str}/status", sync_to_thread=False, status_code=200)
    def move(code: FromPath[str], data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        dossier(code)
        try:
            d = world.move(code, data.get("status"), raw=data.get("raw"), note=data.get("note"),
                           missing_papers=data.get("missing_papers") or ())
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return d.detail()

    @post("/dossiers/{code:str}/corrupt", sync_to_thread=False, status_code=200)
    def corrupt(code: FromPath[str]) -> dict[str, Any]:
        d = dossier(code)
        d.corrupt, d.updated_at = True, world.now()
        d.history.append((d.updated_at, "corrupt"))
        return d.detail()

    @post("/faults", sync_to_thread=False, status_code=200)
    def faults(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        f = world.faults
        f.latency_ms = int(data.get("latency_ms", f.latency_ms))
        if "status" in data:
            f.status, f.count = int(data["status"]), data.get("count")
        f.malformed = int(data.get("malformed", f.malformed))
        if data.get("expire_tokens"):
            world.token_epoch += 1
        return world.state()["faults"]

    @delete("/faults", sync_to_thread=False, status_code=200)
    def clear() -> dict[str, Any]:
        world.faults = Faults()
        return world.state()["faults"]

    @get("/received/{kind:str}", sync_to_thread=False)
    def received(kind: FromPath[str]) -> list[dict[str, Any]]:
        if kind not in world.received:
            raise NotFoundException(f"kinds: {', '.join(world.received)}")
        return world.received[kind]

    @put("/push-target", sync_to_thread=False, status_code=200)
    def push_target(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        world.push_target = data.get("url") or None
        return {"url": world.push_target}

    @get("/pushes", sync_to_thread=False)
    def pushes() -> list[dict[str, Any]]:
        return world.pushes

    @post("/push-sample", sync_to_thread=False, status_code=200)
    def sample(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        if push_sample is None:
            raise NotFoundException("this family does not push")
        body, headers = push_sample(dossier(str(data.get("code", ""))))
        return {"body": body.decode(), "headers": headers}

    return Router(path="/_sandbox", route_handlers=[state, clock, dossiers, create, read, move, corrupt, faults,
                                                    clear, received, push_target, pushes, sample])


def sandbox_app(world: World, route_handlers: list[Any], *, push_sample=None, on_startup=(), on_shutdown=()):
    """A family's protocol handlers plus the control API, behind the fault injector."""
    from litestar import Litestar

    app = Litestar(route_handlers=[*route_handlers, control_router(world, push_sample=push_sample)],
                   on_startup=list(on_startup), on_shutdown=list(on_shutdown), openapi_config=None, debug=False,
                   logging_config=None)  # the host process owns logging
    wrapped = FaultInjector(app, world)
    wrapped.world = world  # type: ignore[attr-defined] - tests reach the world of an in-process sandbox
    return wrapped


# -- the client tests use ----------------------------------------------------------------------

class SandboxControl:
    """Drive a running sandbox through its control API (see the module docstring)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(base_url=f"{self.base_url}/_sandbox", timeout=10)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, json: Any = None) -> Any:
        r = await self._client.request(method, path, json=json)
        r.raise_for_status()
        return r.json()

    async def state(self) -> dict[str, Any]:
        return await self._call("GET", "/state")

    async def advance(self, seconds: float) -> str:
        return (await self._call("POST", "/clock", {"advance_seconds": seconds}))["now"]

    async def set_speed(self, speed: float) -> str:
        return (await self._call("POST", "/clock", {"speed": speed}))["now"]

    async def dossiers(self) -> list[dict[str, Any]]:
        return await self._call("GET", "/dossiers")

    async def dossier(self, code: str) -> dict[str, Any]:
        return await self._call("GET", f"/dossiers/{code}")

    async def create(self, **fields: Any) -> dict[str, Any]:
        return await self._call("POST", "/dossiers", fields)

    async def move(self, code: str, status: str | None = None, *, raw: str | None = None, **extra: Any) -> dict[str, Any]:
        body = {"raw": raw} if raw is not None else {"status": str(status), **extra}
        return await self._call("POST", f"/dossiers/{code}/status", body)

    async def corrupt(self, code: str) -> dict[str, Any]:
        return await self._call("POST", f"/dossiers/{code}/corrupt")

    async def fault(self, **spec: Any) -> dict[str, Any]:
        return await self._call("POST", "/faults", spec)

    async def clear_faults(self) -> dict[str, Any]:
        return await self._call("DELETE", "/faults")

    async def received(self, kind: str) -> list[dict[str, Any]]:
        return await self._call("GET", f"/received/{kind}")

    async def set_push_target(self, url: str | None) -> dict[str, Any]:
        return await self._call("PUT", "/push-target", {"url": url})

    async def pushes(self) -> list[dict[str, Any]]:
        return await self._call("GET", "/pushes")

    async def push_sample(self, code: str) -> tuple[bytes, dict[str, str]]:
        data = await self._call("POST", "/push-sample", {"code": code})
        return data["body"].encode(), data["headers"]
