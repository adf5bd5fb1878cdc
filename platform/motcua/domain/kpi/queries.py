"""The KPI queries. Every ratio keeps its numerator and denominator, so sums across tenants and
CSV exports stay exact."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

FINISHED = ["resolved", "returned"]
OPEN_STATUSES = ["submitted", "received", "processing", "supplement_required", "awaiting_payment"]
RATING_TARGET = 0.60


@dataclass(frozen=True)
class Period:
    """Calendar days [start, end] inclusive, in the tenant's time zone; optionally one agency."""

    start: date
    end: date
    agency: str | None = None
    tz: str = "Asia/Ho_Chi_Minh"

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, ZoneInfo(self.tz))

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, ZoneInfo(self.tz))


def _ratio(n: int, d: int) -> float | None:
    return None if not d else n / d


@dataclass
class Kpis:
    tenant: str
    resolved: int = 0
    on_time: int = 0
    early: int = 0
    overdue_open: int = 0
    received: int = 0
    online: int = 0
    rated: int = 0
    ratings: int = 0
    satisfied: int = 0
    feedback_due: int = 0
    feedback_on_time: int = 0
    feedback_received: int = 0
    conversations: int = 0
    answered_conversations: int = 0
    median_first_answer_minutes: float | None = None
    followers: int = 0
    new_followers: int = 0
    interactions: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def on_time_rate(self) -> float | None:
        return _ratio(self.on_time, self.resolved)

    @property
    def early_rate(self) -> float | None:
        return _ratio(self.early, self.resolved)

    @property
    def online_rate(self) -> float | None:
        return _ratio(self.online, self.received)

    @property
    def rating_coverage(self) -> float | None:
        return _ratio(self.rated, self.resolved)

    @property
    def satisfaction_rate(self) -> float | None:
        return _ratio(self.satisfied, self.ratings)

    @property
    def feedback_on_time_rate(self) -> float | None:
        return _ratio(self.feedback_on_time, self.feedback_due)

    @classmethod
    def total(cls, items: list[Kpis]) -> Kpis:
        out = cls(tenant="*")
        for k in items:
            for name in ("resolved", "on_time", "early", "overdue_open", "received", "online", "rated", "ratings",
                         "satisfied", "feedback_due", "feedback_on_time", "feedback_received", "conversations",
                         "answered_conversations", "followers", "new_followers", "interactions"):
                setattr(out, name, getattr(out, name) + getattr(k, name))
        medians = [k.median_first_answer_minutes for k in items if k.median_first_answer_minutes is not None]
        # A median of medians is only indicative; the per-tenant rows carry the exact figure.
        out.median_first_answer_minutes = sorted(medians)[len(medians) // 2] if medians else None
        return out


async def tenant_kpis(conn: asyncpg.Connection, tenant_id: str, period: Period) -> Kpis:
    """All indicators for one tenant, in its own transaction (RLS keeps it to that tenant)."""
    args = (tenant_id, period.since, period.until, period.agency, period.tz)
    d = await conn.fetchrow(
        """WITH fin AS (
             SELECT e.dossier_id, min(e.at) AS finished_at FROM dossier_event e
             WHERE e.tenant_id = $1 AND e.status = ANY($6::text[])
             GROUP BY e.dossier_id HAVING min(e.at) >= $2 AND min(e.at) < $3)
           SELECT count(*) AS resolved,
                  count(*) FILTER (WHERE d.due_at IS NULL OR f.finished_at <= d.due_at) AS on_time,
                  count(*) FILTER (WHERE (f.finished_at AT TIME ZONE $5)::date < (d.due_at AT TIME ZONE $5)::date) AS early,
                  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM evaluation v WHERE v.tenant_id = d.tenant_id
                                                 AND v.dossier_id = d.id)) AS rated
           FROM fin f JOIN dossier d ON d.tenant_id = $1 AND d.id = f.dossier_id
           WHERE $4::text IS NULL OR d.agency_code = $4""", *args, FINISHED)
    r = await conn.fetchrow(
        """SELECT count(*) AS received, count(*) FILTER (WHERE d.online) AS online FROM dossier d
           WHERE d.tenant_id = $1 AND coalesce(d.received_at, d.submitted_at, d.created_at) >= $2
             AND coalesce(d.received_at, d.submitted_at, d.created_at) < $3 AND ($4::text IS NULL OR d.agency_code = $4)""",
        *args[:4])
    overdue = await conn.fetchval(
        """SELECT count(*) FROM dossier d WHERE d.tenant_id = $1 AND d.status = ANY($4::text[])
             AND d.finished_at IS NULL AND d.due_at < least(now(), $2) AND ($3::text IS NULL OR d.agency_code = $3)""",
        tenant_id, period.until, period.agency, OPEN_STATUSES)
    v = await conn.fetchrow(
        """SELECT count(*) AS ratings, count(*) FILTER (WHERE v.overall >= 2) AS satisfied FROM evaluation v
           JOIN dossier d ON d.tenant_id = v.tenant_id AND d.id = v.dossier_id
           WHERE v.tenant_id = $1 AND v.created_at >= $2 AND v.created_at < $3 AND ($4::text IS NULL OR d.agency_code = $4)""",
        *args[:4])
    fb = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE f.due_at >= $2 AND f.due_at < $3 AND f.status <> 'rejected') AS due,
                  count(*) FILTER (WHERE f.due_at >= $2 AND f.due_at < $3 AND f.status <> 'rejected'
                                   AND f.answered_at <= f.due_at) AS on_time,
                  count(*) FILTER (WHERE f.created_at >= $2 AND f.created_at < $3) AS received
           FROM feedback f WHERE f.tenant_id = $1 AND ($4::text IS NULL OR f.agency_code = $4)""", *args[:4])
    c = await conn.fetchrow(
        """SELECT count(*) AS total, count(c.first_answer_at) AS answered,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.first_answer_at - c.created_at) / 60)
                    FILTER (WHERE c.first_answer_at IS NOT NULL) AS median_minutes
           FROM conversation c WHERE c.tenant_id = $1 AND c.created_at >= $2 AND c.created_at < $3
             AND ($4::text IS NULL OR c.agency_code = $4)""", *args[:4])
    z = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE following AND erased_at IS NULL) AS followers,
                  count(*) FILTER (WHERE following AND followed_at >= $2 AND followed_at < $3) AS new_followers,
                  (SELECT count(*) FROM message m WHERE m.tenant_id = $1 AND m.direction = 'in'
                     AND m.created_at >= $2 AND m.created_at < $3) AS interactions
           FROM citizen WHERE tenant_id = $1""", tenant_id, period.since, period.until)
    return Kpis(tenant=tenant_id, resolved=d["resolved"], on_time=d["on_time"], early=d["early"], rated=d["rated"],
                overdue_open=overdue, received=r["received"], online=r["online"], ratings=v["ratings"],
                satisfied=v["satisfied"], feedback_due=fb["due"], feedback_on_time=fb["on_time"],
                feedback_received=fb["received"], conversations=c["total"], answered_conversations=c["answered"],
                median_first_answer_minutes=None if c["median_minutes"] is None else round(float(c["median_minutes"]), 1),
                followers=z["followers"], new_followers=z["new_followers"], interactions=z["interactions"])


async def daily_series(conn: asyncpg.Connection, tenant_id: str, period: Period) -> list[dict[str, object]]:
    """Per day of the period: dossiers resolved on time and late, inbound messages, feedback received."""
    rows = await conn.fetch(
        """WITH days AS (SELECT generate_series($6::date, $7::date, interval '1 day')::date AS day),
           fin AS (SELECT e.dossier_id, min(e.at) AS finished_at FROM dossier_event e
                   WHERE e.tenant_id = $1 AND e.status = ANY($8::text[]) GROUP BY e.dossier_id
                   HAVING min(e.at) >= $2 AND min(e.at) < $3),
           res AS (SELECT (f.finished_at AT TIME ZONE $5)::date AS day,
                          count(*) FILTER (WHERE d.due_at IS NULL OR f.finished_at <= d.due_at) AS on_time,
                          count(*) FILTER (WHERE f.finished_at > d.due_at) AS late
                   FROM fin f JOIN dossier d ON d.tenant_id = $1 AND d.id = f.dossier_id
                   WHERE $4::text IS NULL OR d.agency_code = $4 GROUP BY 1),
           msg AS (SELECT (m.created_at AT TIME ZONE $5)::date AS day, count(*) AS n FROM message m
                   WHERE m.tenant_id = $1 AND m.direction = 'in' AND m.created_at >= $2 AND m.created_at < $3 GROUP BY 1),
           fb AS (SELECT (f.created_at AT TIME ZONE $5)::date AS day, count(*) AS n FROM feedback f
                  WHERE f.tenant_id = $1 AND f.created_at >= $2 AND f.created_at < $3
                    AND ($4::text IS NULL OR f.agency_code = $4) GROUP BY 1)
           SELECT days.day, coalesce(res.on_time, 0) AS on_time, coalesce(res.late, 0) AS late,
                  coalesce(msg.n, 0) AS interactions, coalesce(fb.n, 0) AS feedback
           FROM days LEFT JOIN res USING (day) LEFT JOIN msg USING (day) LEFT JOIN fb USING (day) ORDER BY days.day""",
        tenant_id, period.since, period.until, period.agency, period.tz, period.start, period.end, FINISHED)
    return [dict(r) for r in rows]


CSV_HEADER = ["tinh", "tu_ngay", "den_ngay", "co_quan", "ho_so_da_giai_quyet", "dung_han", "ty_le_dung_han",
              "truoc_han", "ty_le_truoc_han", "qua_han_chua_giai_quyet", "ho_so_tiep_nhan", "nop_truc_tuyen",
              "ty_le_truc_tuyen", "ho_so_duoc_danh_gia", "ty_le_danh_gia", "luot_danh_gia", "hai_long",
              "ty_le_hai_long", "phan_anh_den_han", "phan_anh_dung_han", "ty_le_phan_anh_dung_han",
              "phan_anh_moi", "hoi_dap", "trung_vi_phut_tra_loi_dau", "nguoi_quan_tam", "quan_tam_moi",
              "luot_tuong_tac"]


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x * 100:.1f}"


def to_csv_rows(items: list[Kpis], period: Period) -> list[list[object]]:
    rows: list[list[object]] = [CSV_HEADER]
    for k in items:
        rows.append([k.tenant, period.start.isoformat(), period.end.isoformat(), period.agency or "", k.resolved,
                     k.on_time, _pct(k.on_time_rate), k.early, _pct(k.early_rate), k.overdue_open, k.received,
                     k.online, _pct(k.online_rate), k.rated, _pct(k.rating_coverage), k.ratings, k.satisfied,
                     _pct(k.satisfaction_rate), k.feedback_due, k.feedback_on_time, _pct(k.feedback_on_time_rate),
                     k.feedback_received, k.conversations,
                     "" if k.median_first_answer_minutes is None else k.median_first_answer_minutes,
                     k.followers, k.new_followers, k.interactions])
    return rows


def as_dict(k: Kpis) -> dict[str, object]:
    out = asdict(k)
    for name in ("on_time_rate", "early_rate", "online_rate", "rating_coverage", "satisfaction_rate",
                 "feedback_on_time_rate"):
        out[name] = getattr(k, name)
    return out
