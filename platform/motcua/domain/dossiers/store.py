"""The timeline upsert: canonical ``Dossier`` records -> ``dossier``, ``dossier_alias`` and
``dossier_event`` rows, and one ``dossiers.event`` job per new event, in the caller's transaction.

Set-based: a page of any size costs two statements (per-dossier locks, then one upsert built
from ``unnest`` arrays whose data-modifying CTEs write the rows, the events, their jobs and the
aliases together). Idempotent: a record equal to what we hold changes nothing, not even
``synced_at``; a record older than what we hold (``updated_at``) is ignored; events are
deduplicated on ``dedupe_key`` (code key + status + raw status + when), so a replayed page,
a push delivered twice or a lookup racing a poll never makes a second event.

Events: ``created`` (first time we see the dossier), ``status_changed``, ``unknown_status`` (a
raw status no table maps: recorded as ``unknown`` with the raw value kept, listed for the
tenant's admins by ``unknown_statuses``), ``due_changed`` (a new due date: the apology letter).

Personal data: the applicant's phone and ID number are never stored, only their keyed hashes
(``applicant_key`` for the phone, the same key as ``citizen.phone_key``; ``applicant_id_key``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import msgspec

from motcua.crypto import Crypto, normalize_phone
from motcua.onestop.codes import normalize_code
from motcua.onestop.records import Dossier, Status, Timing, timing

VN = timezone(timedelta(hours=7))  # one-stop systems write local time; a naive datetime is Vietnam's
EVENT_JOB = "dossiers.event"


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=VN) if value.tzinfo is None else value


def phone_key(crypto: Crypto, tenant_id: str, phone: str | None) -> str | None:
    """The keyed hash a phone number is found by (``citizen.phone_key`` uses the same)."""
    digits = normalize_phone(phone or "")
    return crypto.lookup_key(tenant_id, "phone", digits) if len(digits) >= 9 else None


def id_key(crypto: Crypto, tenant_id: str, id_number: str | None) -> str | None:
    """The keyed hash an ID number (CCCD, passport, tax code) is found by."""
    value = "".join(ch for ch in (id_number or "").upper() if ch.isalnum())
    return crypto.lookup_key(tenant_id, "id", value) if value else None


class PreparedDossier(msgspec.Struct, kw_only=True, frozen=True):
    """A canonical dossier ready to store: code normalised, personal numbers hashed, dates aware.

    It holds no plain personal number, so it may itself be stored (a pushed event waiting for
    the worker is kept in ``webhook_event`` in this form).
    """

    code: str
    code_key: str
    status: str
    raw_status: str
    raw_label: str | None = None
    procedure_code: str | None = None
    procedure_name: str | None = None
    agency_code: str | None = None
    agency_name: str | None = None
    handler: str | None = None
    applicant_name: str | None = None
    applicant_key: str | None = None
    applicant_id_key: str | None = None
    submitted_at: datetime | None = None
    received_at: datetime | None = None
    due_at: datetime | None = None
    finished_at: datetime | None = None
    returned_at: datetime | None = None
    online: bool = False
    missing_papers: list[str] = []
    note: str | None = None
    source_updated_at: datetime | None = None
    alias_keys: list[str] = []


def prepare(crypto: Crypto, tenant_id: str, d: Dossier) -> PreparedDossier:
    key = normalize_code(d.code)
    if not key:
        raise ValueError("a dossier needs a code")
    aliases = list(dict.fromkeys(k for k in (normalize_code(c) for c in d.alt_codes) if k and k != key))
    return PreparedDossier(
        code=d.code.strip(), code_key=key, status=Status(d.status).value, raw_status=str(d.raw_status.code),
        raw_label=d.raw_status.label, procedure_code=d.procedure_code, procedure_name=d.procedure_name,
        agency_code=d.agency.code if d.agency else None, agency_name=d.agency.name if d.agency else None,
        handler=d.handler, applicant_name=d.applicant_name,
        applicant_key=phone_key(crypto, tenant_id, d.applicant_phone),
        applicant_id_key=id_key(crypto, tenant_id, d.applicant_id_number),
        submitted_at=_aware(d.submitted_at), received_at=_aware(d.received_at), due_at=_aware(d.due_at),
        finished_at=_aware(d.finished_at), returned_at=_aware(d.returned_at), online=d.online,
        missing_papers=list(d.missing_papers), note=d.note, source_updated_at=_aware(d.updated_at),
        alias_keys=aliases)


class UpsertResult(msgspec.Struct, kw_only=True):
    received: int = 0  # records handed in
    created: int = 0
    updated: int = 0
    events: int = 0
    aliases: int = 0
    event_ids: list[int] = []

    def add(self, other: UpsertResult) -> None:
        self.received += other.received
        self.created += other.created
        self.updated += other.updated
        self.events += other.events
        self.aliases += other.aliases
        self.event_ids += other.event_ids


# (column, update expression). ``i`` is the incoming record, ``d`` the stored row. Descriptive
# fields keep what we know when a record (a push, say) leaves them out; status fields follow the
# system, because the latest report is the truth.
_KEEP = "coalesce(i.{0}, d.{0})"
_COLUMNS: list[tuple[str, str]] = [
    ("code", "CASE WHEN d.code_key = i.code_key THEN i.code ELSE d.code END"),
    ("status", "i.status"),
    ("raw_status", "i.raw_status"),
    ("raw_label", "i.raw_label"),
    *((c, _KEEP.format(c)) for c in (
        "procedure_code", "procedure_name", "agency_code", "agency_name", "handler", "applicant_name",
        "applicant_key", "applicant_id_key", "submitted_at", "received_at", "due_at", "finished_at",
        "returned_at")),
    ("online", "i.online OR d.online"),
    ("missing_papers", "i.missing_papers::jsonb"),
    ("note", "i.note"),
    ("source_updated_at", _KEEP.format("source_updated_at")),
]
# The incoming arrays: the row's fields, then what Python derives for the events.
_INPUT: list[tuple[str, str]] = [
    ("code", "text"), ("code_key", "text"), ("status", "text"), ("raw_status", "text"), ("raw_label", "text"),
    ("procedure_code", "text"), ("procedure_name", "text"), ("agency_code", "text"), ("agency_name", "text"),
    ("handler", "text"), ("applicant_name", "text"), ("applicant_key", "text"), ("applicant_id_key", "text"),
    ("submitted_at", "timestamptz"), ("received_at", "timestamptz"), ("due_at", "timestamptz"),
    ("finished_at", "timestamptz"), ("returned_at", "timestamptz"), ("online", "boolean"),
    ("missing_papers", "text"), ("note", "text"), ("source_updated_at", "timestamptz"),
    ("created_at_ev", "timestamptz"), ("created_key", "text"), ("status_at_ev", "timestamptz"),
    ("status_key", "text"), ("changed_at_ev", "timestamptz"), ("due_key", "text"), ("timing", "text"),
]


def _upsert_sql() -> str:
    arrays = ", ".join(f"${n}::{t}[]" for n, (_, t) in enumerate(_INPUT, start=2))
    names = ", ".join(c for c, _ in _INPUT)
    alias_key, alias_ord = len(_INPUT) + 2, len(_INPUT) + 3
    sets = ",\n    ".join(f"{c} = {e}" for c, e in _COLUMNS)
    cols = [c for c, _ in _COLUMNS]
    before = ", ".join(f"d.{c}" for c in cols)
    after = ", ".join(e for _, e in _COLUMNS)
    insert_values = ", ".join("i.missing_papers::jsonb" if c == "missing_papers" else f"i.{c}" for c in cols)
    return f"""
WITH inc AS (
  SELECT * FROM unnest({arrays}) WITH ORDINALITY AS i({names}, ord)
),
old AS (  -- what we held before this page, found by the code or by one of its aliases
  SELECT i.ord, x.id, x.status, x.raw_status, x.due_at
  FROM inc i CROSS JOIN LATERAL (
    SELECT y.id, y.status, y.raw_status, y.due_at FROM (
      SELECT d.id, d.status, d.raw_status, d.due_at, 0 AS pref FROM dossier d
       WHERE d.tenant_id = $1 AND d.code_key = i.code_key
      UNION ALL
      SELECT d.id, d.status, d.raw_status, d.due_at, 1 FROM dossier_alias a
        JOIN dossier d ON d.tenant_id = a.tenant_id AND d.id = a.dossier_id
       WHERE a.tenant_id = $1 AND a.code_key = i.code_key
    ) y ORDER BY y.pref LIMIT 1
  ) x
),
upd AS (
  UPDATE dossier d SET
    {sets},
    synced_at = now()
  FROM inc i JOIN old o ON o.ord = i.ord
  WHERE d.tenant_id = $1 AND d.id = o.id
    AND (i.source_updated_at IS NULL OR d.source_updated_at IS NULL OR i.source_updated_at >= d.source_updated_at)
    AND ROW({before}) IS DISTINCT FROM ROW({after})
  RETURNING i.ord, d.id
),
ins AS (
  INSERT INTO dossier (tenant_id, {", ".join(cols)}, code_key)
  SELECT $1, {insert_values}, i.code_key FROM inc i
  WHERE NOT EXISTS (SELECT 1 FROM old o WHERE o.ord = i.ord)
  ON CONFLICT (tenant_id, code_key) DO NOTHING
  RETURNING id, code_key
),
touched AS (
  SELECT u.ord, u.id, false AS created FROM upd u
  UNION ALL
  SELECT i.ord, n.id, true FROM ins n JOIN inc i ON i.code_key = n.code_key
),
ev AS (
  SELECT t.ord, 0 AS seq, t.id AS dossier_id, 'created' AS kind, i.status, i.raw_status, i.created_at_ev AS at,
         i.note, jsonb_strip_nulls(jsonb_build_object('timing', i.timing, 'due_at', i.due_at)) AS data,
         i.created_key AS dedupe_key
    FROM touched t JOIN inc i ON i.ord = t.ord WHERE t.created
  UNION ALL
  SELECT t.ord, 1, t.id, CASE WHEN i.status = 'unknown' THEN 'unknown_status' ELSE 'status_changed' END,
         i.status, i.raw_status, i.status_at_ev, i.note,
         jsonb_strip_nulls(jsonb_build_object('timing', i.timing, 'previous_status', o.status,
           'previous_raw_status', o.raw_status, 'raw_label', i.raw_label, 'due_at', i.due_at,
           'missing_papers', CASE WHEN i.status = 'supplement_required' THEN i.missing_papers::jsonb END)),
         i.status_key
    FROM touched t JOIN inc i ON i.ord = t.ord LEFT JOIN old o ON o.ord = t.ord
   WHERE (t.created AND i.status = 'unknown')
      OR (NOT t.created AND (o.status, o.raw_status) IS DISTINCT FROM (i.status, i.raw_status))
  UNION ALL
  SELECT t.ord, 2, t.id, 'due_changed', i.status, i.raw_status, i.changed_at_ev, i.note,
         jsonb_build_object('previous_due_at', o.due_at, 'due_at', i.due_at), i.due_key
    FROM touched t JOIN inc i ON i.ord = t.ord JOIN old o ON o.ord = t.ord
   WHERE NOT t.created AND o.due_at IS NOT NULL AND i.due_at IS NOT NULL AND o.due_at <> i.due_at
),
evi AS (
  INSERT INTO dossier_event (tenant_id, dossier_id, kind, status, raw_status, at, note, data, dedupe_key)
  SELECT $1, dossier_id, kind, status, raw_status, at, note, data, dedupe_key FROM ev ORDER BY ord, seq
  ON CONFLICT (tenant_id, dedupe_key) DO NOTHING
  RETURNING id
),
jobs AS (  -- the notifier and other subscribers react in the worker, after this commits
  INSERT INTO job (tenant_id, kind, payload)
  SELECT $1, '{EVENT_JOB}', jsonb_build_object('event_id', id) FROM evi ORDER BY id
  RETURNING id
),
al AS (
  INSERT INTO dossier_alias (tenant_id, code_key, dossier_id)
  SELECT $1, a.key, coalesce(t.id, o.id)
    FROM unnest(${alias_key}::text[], ${alias_ord}::bigint[]) AS a(key, ord)
    LEFT JOIN touched t ON t.ord = a.ord LEFT JOIN old o ON o.ord = a.ord
   WHERE coalesce(t.id, o.id) IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM dossier d WHERE d.tenant_id = $1 AND d.code_key = a.key)
  ON CONFLICT (tenant_id, code_key) DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins) AS created, (SELECT count(*) FROM upd) AS updated,
       (SELECT count(*) FROM jobs) AS jobs, (SELECT count(*) FROM al) AS aliases,
       (SELECT coalesce(array_agg(id ORDER BY id), '{{}}') FROM evi) AS event_ids
"""


UPSERT_SQL = _upsert_sql()

# The moment a status was reached, when the system does not say when it changed the dossier.
_STATUS_DATE = {
    Status.submitted: "submitted_at", Status.received: "received_at", Status.resolved: "finished_at",
    Status.not_accepted: "finished_at", Status.returned: "returned_at",
}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _columns(rows: Sequence[PreparedDossier], now: datetime) -> list[list[Any]]:
    cols: list[list[Any]] = [[] for _ in _INPUT]
    for p in rows:
        status = Status(p.status)
        reached = p.source_updated_at or (getattr(p, _STATUS_DATE[status]) if status in _STATUS_DATE else None)
        status_at = reached or now
        created_at = p.received_at or p.submitted_at or p.source_updated_at or now
        flag = timing(p.due_at, p.finished_at, now)
        values = [
            p.code, p.code_key, p.status, p.raw_status, p.raw_label, p.procedure_code, p.procedure_name,
            p.agency_code, p.agency_name, p.handler, p.applicant_name, p.applicant_key, p.applicant_id_key,
            p.submitted_at, p.received_at, p.due_at, p.finished_at, p.returned_at, p.online,
            msgspec.json.encode(p.missing_papers).decode(), p.note, p.source_updated_at,
            created_at, f"{p.code_key}|created",
            status_at, f"{p.code_key}|{p.status}|{p.raw_status}|{_iso(status_at)}",
            p.source_updated_at or now, f"{p.code_key}|due|{_iso(p.due_at)}" if p.due_at else None,
            flag.value if isinstance(flag, Timing) else None,
        ]
        for col, value in zip(cols, values, strict=True):
            col.append(value)
    return cols


def _rounds(rows: Iterable[PreparedDossier]) -> list[list[PreparedDossier]]:
    """Split a page so that no round holds one code twice: a set-based upsert may touch a row
    once per statement, and a feed may report two changes of one dossier in a page (kept in order)."""
    rounds: list[list[PreparedDossier]] = []
    seen: dict[str, int] = {}
    for p in rows:
        n = seen.get(p.code_key, 0)
        seen[p.code_key] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(p)
    return rounds


def _lock_id(tenant_id: str, code_key: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"dossier:{tenant_id}:{code_key}".encode(), digest_size=8).digest(),
                          "big", signed=True)


async def upsert_prepared(conn: asyncpg.Connection, tenant_id: str, rows: Sequence[PreparedDossier], *,
                          now: datetime | None = None) -> UpsertResult:
    """Store a page of prepared dossiers in the caller's tenant transaction (which commits)."""
    result = UpsertResult(received=len(rows))
    if not rows:
        return result
    now = now or datetime.now(UTC)
    # Poll, push and lookup may write the same dossier at once; each waits for the other so the
    # "before" it compares with is the committed one. Sorted, so two pages never deadlock.
    keys = sorted({_lock_id(tenant_id, k) for p in rows for k in (p.code_key, *p.alias_keys)})
    await conn.execute("SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k", keys)
    for batch in _rounds(rows):
        alias_keys = [k for p in batch for k in p.alias_keys]
        alias_ords = [i for i, p in enumerate(batch, start=1) for _ in p.alias_keys]
        row = await conn.fetchrow(UPSERT_SQL, tenant_id, *_columns(batch, now), alias_keys, alias_ords)
        result.add(UpsertResult(created=row["created"], updated=row["updated"], events=len(row["event_ids"]),
                                aliases=row["aliases"], event_ids=list(row["event_ids"])))
    return result


async def upsert_dossiers(conn: asyncpg.Connection, crypto: Crypto, tenant_id: str, dossiers: Sequence[Dossier], *,
                          now: datetime | None = None) -> UpsertResult:
    """Store canonical dossiers (a change-feed page, a lookup's answer, a new submission's receipt)
    with their timeline events, in the caller's tenant transaction."""
    return await upsert_prepared(conn, tenant_id, [prepare(crypto, tenant_id, d) for d in dossiers], now=now)


class StoredDossier(msgspec.Struct, kw_only=True):
    """A dossier as we hold it. No personal number: those are only hashes, and stay in the table."""

    id: int
    code: str
    code_key: str
    status: Status
    raw_status: str
    raw_label: str | None = None
    procedure_code: str | None = None
    procedure_name: str | None = None
    agency_code: str | None = None
    agency_name: str | None = None
    handler: str | None = None
    applicant_name: str | None = None
    submitted_at: datetime | None = None
    received_at: datetime | None = None
    due_at: datetime | None = None
    finished_at: datetime | None = None
    returned_at: datetime | None = None
    online: bool = False
    missing_papers: list[str] = []
    note: str | None = None
    source_updated_at: datetime | None = None
    synced_at: datetime
    created_at: datetime

    @property
    def status_label(self) -> str:
        """The status in Vietnamese, as citizens read it."""
        return self.status.label_vi

    def timing(self, now: datetime | None = None) -> Timing | None:
        return timing(self.due_at, self.finished_at, now or datetime.now(UTC))

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> StoredDossier:
        data = dict(row)
        data["status"] = Status(data["status"]) if data["status"] in Status.__members__ else Status.unknown
        return msgspec.convert({k: v for k, v in data.items() if k in _STORED_FIELDS}, cls)


_STORED_FIELDS = set(StoredDossier.__struct_fields__)
_SELECT = "SELECT " + ", ".join(f"d.{f}" for f in StoredDossier.__struct_fields__) + " FROM dossier d"


class TimelineEvent(msgspec.Struct, kw_only=True):
    """One entry of a dossier's timeline, as subscribers receive it (with the dossier as it is now)."""

    id: int
    dossier_id: int
    kind: str  # created, status_changed, due_changed, unknown_status
    status: str | None
    raw_status: str | None
    at: datetime
    note: str | None = None
    data: dict[str, Any] = {}
    created_at: datetime
    dossier: StoredDossier | None = None

    @property
    def timing(self) -> Timing | None:
        """Early / on time / overdue at the moment of the event (from the dossier's dates)."""
        if "timing" in self.data:
            return Timing(self.data["timing"])
        return self.dossier.timing(self.at) if self.dossier else None

    @classmethod
    def from_row(cls, row: asyncpg.Record, dossier: StoredDossier | None = None) -> TimelineEvent:
        return cls(id=row["id"], dossier_id=row["dossier_id"], kind=row["kind"], status=row["status"],
                   raw_status=row["raw_status"], at=row["at"], note=row["note"], data=row["data"] or {},
                   created_at=row["created_at"], dossier=dossier)


async def get_dossier(conn: asyncpg.Connection, code: str) -> StoredDossier | None:
    """Our copy of a dossier by its code or one of its other codes, compared normalised."""
    key = normalize_code(code)
    if not key:
        return None
    row = await conn.fetchrow(
        f"""{_SELECT} WHERE d.code_key = $1
            UNION ALL
            {_SELECT} JOIN dossier_alias a ON a.tenant_id = d.tenant_id AND a.dossier_id = d.id WHERE a.code_key = $1
            LIMIT 1""", key)
    return StoredDossier.from_row(row) if row else None


async def get_dossier_by_id(conn: asyncpg.Connection, dossier_id: int) -> StoredDossier | None:
    row = await conn.fetchrow(f"{_SELECT} WHERE d.id = $1", dossier_id)
    return StoredDossier.from_row(row) if row else None


async def dossiers_by_keys(conn: asyncpg.Connection, *, applicant_keys: Sequence[str] = (),
                           id_keys: Sequence[str] = (), limit: int = 50) -> list[StoredDossier]:
    """A citizen's dossiers, newest first, by the keyed hashes of their phone or ID number."""
    rows = await conn.fetch(
        f"""{_SELECT} WHERE d.applicant_key = ANY($1::text[]) OR d.applicant_id_key = ANY($2::text[])
            ORDER BY coalesce(d.received_at, d.submitted_at, d.created_at) DESC, d.id DESC LIMIT $3""",
        list(applicant_keys), list(id_keys), limit)
    return [StoredDossier.from_row(r) for r in rows]


async def timeline(conn: asyncpg.Connection, dossier_id: int, *, limit: int = 20) -> list[TimelineEvent]:
    """A dossier's latest events, oldest first."""
    rows = await conn.fetch(
        """SELECT * FROM (SELECT * FROM dossier_event WHERE dossier_id = $1 ORDER BY at DESC, id DESC LIMIT $2) e
           ORDER BY at, id""", dossier_id, limit)
    return [TimelineEvent.from_row(r) for r in rows]


async def get_event(conn: asyncpg.Connection, event_id: int) -> TimelineEvent | None:
    row = await conn.fetchrow("SELECT * FROM dossier_event WHERE id = $1", event_id)
    if row is None:
        return None
    return TimelineEvent.from_row(row, await get_dossier_by_id(conn, row["dossier_id"]))


class UnknownStatus(msgspec.Struct, kw_only=True):
    raw_status: str
    raw_label: str | None
    dossiers: int
    example_code: str


async def unknown_statuses(conn: asyncpg.Connection) -> list[UnknownStatus]:
    """Raw statuses the tenant's status table does not cover, for the admin console: each needs
    a line in ``[adapter.status_map]``."""
    rows = await conn.fetch(
        """SELECT raw_status, max(raw_label) AS raw_label, count(*) AS dossiers, min(code) AS example_code
           FROM dossier WHERE status = 'unknown' GROUP BY raw_status ORDER BY count(*) DESC, raw_status""")
    return [UnknownStatus(**dict(r)) for r in rows]
