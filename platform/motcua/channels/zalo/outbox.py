"""Every message to a citizen goes through here: ``queue_message`` inside the caller's
transaction, then the ``zalo.send`` job sends it under the OA's rate limit.

The public API (stable; citizen services, staff and broadcasts call it)::

    notification_id = await queue_message(
        conn, runtime, tenant, citizen_id,
        kind="received",                 # what it is; also picks the ZNS template (zalo.zns_templates)
        text="Hồ sơ ... đã được tiếp nhận.",
        buttons=[Button("Xem hồ sơ", url=...), {"title": "Tra cứu", "query": "#tracuu"}],
        image_url=None,                  # an image message (text becomes its caption)
        dossier_id=None,
        dedupe_key="dossier:42:received:citizen:7",   # the same logical message is created once
        zns=("received", {"ma_ho_so": "...", "ngay_hen": "..."}),  # fallback when the window is closed
    )

* ``conn`` is the caller's open tenant transaction: the message exists if and only if the
  caller's change commits. ``tenant`` is the slug or the ``Tenant``.
* ``dedupe_key`` is required. A second call with the same key returns the first message's id
  and sends nothing more — safe in retried jobs.
* Text is NFC-normalised and cut kindly with "…" at Zalo's 2,000 characters.
* The channel is chosen when sending: a consultation message (CS) while the citizen's window
  is open (last interaction within 7 days; free within 48 h); otherwise, or when Zalo says the
  window is closed, a ZNS template message by phone — only if ``zns`` is given, the citizen
  shared a phone with consent and the tenant has a template for ``zns[0]``. If neither is
  possible the message is recorded ``failed`` with the reason.
* Status lives in ``notification``: queued → sent (Zalo's msg_id) → delivered (receipts), or
  failed (Zalo's code and reason) / skipped (consent withdrawn).

Never twice: each call to Zalo is first recorded in ``zalo_send_attempt`` (committed on its own)
and ``sent`` is recorded in the transaction that deletes the job. If a worker dies after Zalo
accepted but before that commit, the retry finds the attempt with no outcome and:

* ZNS: resends with the same deterministic ``tracking_id`` (``<tenant>-<notification id>``); a
  delivery receipt carrying it marks the row delivered, and a row no longer ``queued`` is never
  sent again.
* CS: Zalo has no idempotency key. The retry looks for the echo Zalo posts to our webhook for
  every message the OA sends (``oa_send_*`` to that user with the same text, after the attempt
  began); found → recorded as sent with the echo's msg_id. Not found → it waits up to
  ``ECHO_WAIT`` for the echo, then sends again. Residual risk: if Zalo accepted the message but
  its echo never reaches us within that wait (webhook down, echo events switched off in the
  app), the citizen may receive the message twice. We accept that over losing it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from motcua import metrics
from motcua.channels.zalo import tokens
from motcua.channels.zalo.citizens import citizen_phone
from motcua.channels.zalo.client import (
    Button,
    OutcomeUnknown,
    QuotaExceeded,
    RateLimited,
    Rejected,
    Sent,
    TokenExpired,
    Transient,
    WindowClosed,
    ZaloClient,
    ZaloError,
    fit_text,
    image_message,
    nfc,
    text_message,
)
from motcua.jobs import Retry
from motcua.jobs.queue import enqueue_many

if TYPE_CHECKING:
    import asyncpg

    from motcua.jobs import Job, JobContext
    from motcua.runtime import Runtime
    from motcua.tenancy.schema import Tenant

log = logging.getLogger(__name__)

WINDOW = timedelta(days=7)  # CS refused after 7 days without interaction (-230/-232)
WINDOW_MARGIN = timedelta(minutes=5)  # don't start a CS send that would race the window's end
RATE_PER_SECOND = 50.0  # per OA, shared by all workers; Zalo allows 4,000 calls/min per app (§1.8)
RATE_BURST = 20
ECHO_WAIT = timedelta(seconds=30)
SEND_TIMEOUT = 10.0  # seconds for one call to Zalo; no answer by then = outcome unknown
GIVE_UP_AFTER = timedelta(hours=24)  # transient errors, quota, missing connection: then failed


async def queue_message(conn: asyncpg.Connection, runtime: Runtime, tenant: str | Tenant, citizen_id: int, *,
                        kind: str, text: str | None = None, buttons: list[Button | dict[str, Any]] | None = None,
                        image_url: str | None = None, dossier_id: int | None = None, dedupe_key: str,
                        zns: tuple[str, dict[str, Any]] | None = None) -> int:
    """Queue one message to a citizen, in the caller's transaction. Returns the notification id
    (the existing one when ``dedupe_key`` was used before)."""
    [nid] = await queue_messages(conn, tenant, [Message(
        citizen_id, kind=kind, text=text, buttons=buttons, image_url=image_url, dossier_id=dossier_id,
        dedupe_key=dedupe_key, zns=zns)])
    return nid


@dataclass
class Message:
    """One ``queue_message`` call's arguments, for ``queue_messages``."""

    citizen_id: int
    kind: str
    dedupe_key: str
    text: str | None = None
    buttons: list[Button | dict[str, Any]] | None = None
    image_url: str | None = None
    dossier_id: int | None = None
    zns: tuple[str, dict[str, Any]] | None = None

    def __post_init__(self) -> None:  # a message with nothing in it fails where it is made
        if not self.dedupe_key:
            raise ValueError("queue_message needs a dedupe_key")
        if not self.text and not self.image_url and self.zns is None:
            raise ValueError("queue_message needs text, an image or a ZNS template")

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.text:
            body["text"] = fit_text(self.text)
        if self.buttons:
            body["buttons"] = [_button_dict(Button.of(b)) for b in self.buttons]
        if self.image_url:
            body["image_url"] = self.image_url
        if self.zns is not None:
            template_kind, params = self.zns
            body["zns"] = {"template_kind": template_kind,
                           "params": {k: nfc(str(v)) for k, v in (params or {}).items()}}
        return body


async def queue_messages(conn: asyncpg.Connection, tenant: str | Tenant, messages: list[Message]) -> list[int]:
    """``queue_message`` for several messages (a batch's replies): one statement for the
    messages, one for their ``zalo.send`` jobs. Returns their notification ids in order."""
    slug = tenant if isinstance(tenant, str) else tenant.slug
    keys = [m.dedupe_key for m in messages]
    rows = await conn.fetch(
        """INSERT INTO notification (tenant_id, citizen_id, dossier_id, kind, dedupe_key, body)
           SELECT $1, c, d, k, dk, b::jsonb
           FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[]) AS x(c, d, k, dk, b)
           ON CONFLICT (tenant_id, dedupe_key) DO NOTHING RETURNING id, dedupe_key""",
        slug, [m.citizen_id for m in messages], [m.dossier_id for m in messages], [m.kind for m in messages],
        keys, [json.dumps(m.body(), ensure_ascii=False) for m in messages])
    if rows:
        await enqueue_many(conn, slug, "zalo.send", [{"notification_id": r["id"]} for r in rows],
                           dedupe_keys=[f"zalo.send:{r['id']}" for r in rows])
    ids = {r["dedupe_key"]: r["id"] for r in rows}
    if len(ids) < len(set(keys)):  # queued before under the same key: the first one's id
        ids.update({r["dedupe_key"]: r["id"] for r in await conn.fetch(
            "SELECT id, dedupe_key FROM notification WHERE tenant_id = $1 AND dedupe_key = ANY($2::text[])",
            slug, [k for k in keys if k not in ids])})
    return [ids[k] for k in keys]


def _button_dict(b: Button) -> dict[str, Any]:
    return {k: v for k, v in (("title", b.title), ("url", b.url), ("query", b.query), ("phone", b.phone)) if v}


def tracking_id(slug: str, notification_id: int) -> str:
    """Deterministic, ≤ 48 characters of [A-Za-z0-9_-] as ZNS recommends."""
    suffix = f"-{notification_id}"
    return slug[: 48 - len(suffix)] + suffix


# --- the zalo.send job ------------------------------------------------------------------------


async def send_job(job: Job, ctx: JobContext) -> None:
    rt, conn, slug = ctx.runtime, ctx.conn, ctx.tenant_id
    nid = int(job.payload["notification_id"])
    # NO KEY UPDATE: serialises two runs of this job, yet lets the attempt rows (FK to this
    # row) be written from another connection meanwhile.
    n = await conn.fetchrow(
        """SELECT n.id, n.kind, n.status, n.body, n.created_at, n.created_at < now() - make_interval(secs => $3) AS too_old,
                  c.id AS citizen_id, c.oa_id, c.zalo_user_id, c.erased_at,
                  coalesce(c.last_interaction_at > now() - make_interval(secs => $4), false) AS window_open
           FROM notification n JOIN citizen c ON c.tenant_id = n.tenant_id AND c.id = n.citizen_id
           WHERE n.tenant_id = $1 AND n.id = $2 FOR NO KEY UPDATE OF n""",
        slug, nid, GIVE_UP_AFTER.total_seconds(), (WINDOW - WINDOW_MARGIN).total_seconds())
    if n is None or n["status"] != "queued":
        return  # already sent, delivered, failed or skipped: nothing to do, ever
    tenant = await rt.tenant(slug)
    if tenant is None or tenant.file.zalo is None:
        await _fail(conn, slug, nid, None, "the tenant has no Zalo OA configured")
        return
    if n["erased_at"] is not None and not n["window_open"]:
        await _fail(conn, slug, nid, None, "the citizen withdrew consent", status="skipped")
        return
    sender = _Sender(rt, conn, slug, tenant, n)
    try:
        await sender.run()
    except _Done:
        return
    except (Transient, QuotaExceeded, tokens.NotConnected) as exc:
        code = exc.code if isinstance(exc, ZaloError) else None
        if n["too_old"]:
            await _fail(conn, slug, nid, code, f"gave up after {GIVE_UP_AFTER}: {exc}")
            return
        attempts = await conn.fetchval("SELECT count(*) FROM zalo_send_attempt WHERE tenant_id = $1 "
                                       "AND notification_id = $2", slug, nid)
        if isinstance(exc, QuotaExceeded):
            delay = 900.0
        elif isinstance(exc, tokens.NotConnected):
            delay = 300.0
        else:  # exponential with jitter, capped at five minutes; a minute-long outage costs ~6 tries
            delay = min(300.0, 2.0 ** min(attempts, 9)) * random.uniform(0.5, 1.0)
        raise Retry(str(exc), delay=delay) from exc
    except RateLimited as exc:
        raise Retry(str(exc), delay=random.uniform(5, 30)) from exc


class _Sender:
    def __init__(self, rt: Runtime, conn: asyncpg.Connection, slug: str, tenant: Tenant, n: asyncpg.Record) -> None:
        self.rt, self.conn, self.slug, self.tenant, self.n = rt, conn, slug, tenant, n
        self.nid: int = n["id"]
        self.body: dict[str, Any] = n["body"] or {}
        self.client = ZaloClient(rt.http, rt.settings.zalo, timeout=SEND_TIMEOUT)

    async def run(self) -> None:
        last = await self.conn.fetchrow(
            """SELECT n, channel, outcome, started_at, now() - started_at AS age FROM zalo_send_attempt
               WHERE tenant_id = $1 AND notification_id = $2 ORDER BY n DESC LIMIT 1""", self.slug, self.nid)
        if last is not None and last["outcome"] is None and last["channel"] == "cs":
            echo = await self._find_echo(last["started_at"])
            if echo:
                await self._record_sent("cs", Sent(echo), attempt=last["n"])
                return
            if last["age"] < ECHO_WAIT:  # the echo may still be on its way
                raise Retry("an earlier send has no answer; waiting for its echo",
                            delay=(ECHO_WAIT - last["age"]).total_seconds() + 1)
        zns = self._zns_plan()
        if self.n["window_open"] and ("text" in self.body or "image_url" in self.body):
            try:
                await self._send_cs()
                return
            except WindowClosed as exc:  # our view of the window was stale
                if zns is None:
                    await _fail(self.conn, self.slug, self.nid, exc.code, f"window closed: {exc.message}")
                    return
        if zns is None:
            await _fail(self.conn, self.slug, self.nid, -230,
                        "reply window closed and no ZNS fallback (no phone shared with consent, or no template)")
            return
        await self._send_zns(*zns)

    def _zns_plan(self) -> tuple[str, dict[str, Any]] | None:
        z = self.body.get("zns")
        if not z or self.tenant.file.zalo is None:
            return None
        template_id = self.tenant.file.zalo.zns_templates.get(z["template_kind"])
        return (template_id, z.get("params") or {}) if template_id else None

    async def _find_echo(self, since: Any) -> str | None:
        text = self.body.get("text")
        name = "oa_send_image" if "image_url" in self.body else "oa_send_text"
        return await self.conn.fetchval(
            """SELECT payload #>> '{message,msg_id}' FROM webhook_event
               WHERE tenant_id = $1 AND source = 'zalo' AND event_name LIKE 'oa\\_send\\_%'
                 AND payload #>> '{recipient,id}' = $2 AND received_at >= $3::timestamptz - interval '5 seconds'
                 AND event_name = $4 AND ($5::text IS NULL OR payload #>> '{message,text}' = $5)
                 AND payload #>> '{sender,admin_id}' IS NULL
                 AND NOT EXISTS (SELECT 1 FROM notification o WHERE o.tenant_id = $1
                                 AND o.zalo_msg_id = webhook_event.payload #>> '{message,msg_id}')
               ORDER BY received_at LIMIT 1""",
            self.slug, self.n["zalo_user_id"], since, name, text if name == "oa_send_text" else None)

    async def _send_cs(self) -> None:
        if "image_url" in self.body:
            message = image_message(url=self.body["image_url"], caption=self.body.get("text", ""))
        else:
            message = text_message(self.body["text"], [Button.of(b) for b in self.body.get("buttons", [])])
        user_id = self.n["zalo_user_id"]
        sent = await self._call("cs", lambda token: self.client.send_cs(token, user_id, message))
        await self._record_sent("cs", sent)

    async def _send_zns(self, template_id: str, params: dict[str, Any]) -> None:
        phone = await citizen_phone(self.conn, self.rt.crypto, self.slug, self.n["citizen_id"])
        if not phone:
            await _fail(self.conn, self.slug, self.nid, -230, "reply window closed and no phone shared with consent")
            return
        tid = tracking_id(self.slug, self.nid)
        sent = await self._call("zns", lambda token: self.client.send_zns(
            token, phone=phone, template_id=template_id, template_data=params, tracking_id=tid), tracking=tid)
        await self._record_sent("zns", sent, tracking=tid)

    async def _call(self, channel: str, send: Any, tracking: str | None = None) -> Sent:
        """One send: a rate-limit slot and an attempt row committed first, then the call; an
        expired token is refreshed once and the call retried once."""
        token = await tokens.access_token(self.rt, self.slug)
        for retry_token in (True, False):
            attempt = await self._begin_attempt(channel, tracking)
            try:
                sent = await send(token)
            except OutcomeUnknown:
                raise  # the attempt keeps no outcome: the retry checks before sending again
            except ZaloError as exc:
                await self._end_attempt(attempt, "rejected", exc.code)
                metrics.ZALO_ERRORS.labels(self.slug, str(exc.code)).inc()
                if isinstance(exc, TokenExpired) and retry_token:
                    token = await tokens.refresh_now(self.rt, self.slug, stale=token)
                    continue
                if isinstance(exc, TokenExpired):
                    raise Transient(exc.code, "access token still refused after a refresh") from exc
                if isinstance(exc, Rejected):
                    await _fail(self.conn, self.slug, self.nid, exc.code, exc.message or str(exc), channel=channel)
                    raise _Done from exc
                raise
            self._attempt = attempt
            return sent
        raise AssertionError("unreachable")

    async def _begin_attempt(self, channel: str, tracking: str | None) -> int:
        oa_id = self.n["oa_id"]
        while True:
            async with self.rt.db.tenant(self.slug) as c:
                wait = await c.fetchval("SELECT motcua_zalo_take($1, $2, $3, $4)", self.slug, oa_id,
                                        RATE_PER_SECOND, RATE_BURST)
                if wait <= 0:
                    return await c.fetchval(
                        """INSERT INTO zalo_send_attempt (tenant_id, notification_id, n, channel)
                           SELECT $1, $2, coalesce(max(n), 0) + 1, $3 FROM zalo_send_attempt
                           WHERE tenant_id = $1 AND notification_id = $2 RETURNING n""", self.slug, self.nid, channel)
            if wait > 2.0:
                raise RateLimited(-32, f"OA send rate reached; next slot in {wait:.1f} s")
            await asyncio.sleep(wait)

    async def _end_attempt(self, n: int, outcome: str, code: int | None) -> None:
        async with self.rt.db.tenant(self.slug) as c:
            await c.execute("UPDATE zalo_send_attempt SET outcome = $4, error_code = $5 WHERE tenant_id = $1 "
                            "AND notification_id = $2 AND n = $3", self.slug, self.nid, n, outcome, code)

    async def _record_sent(self, channel: str, sent: Sent, *, tracking: str | None = None,
                           attempt: int | None = None) -> None:
        """In the job's transaction: the job's deletion and ``sent`` commit together."""
        attempt = attempt if attempt is not None else getattr(self, "_attempt", None)
        await self.conn.execute(
            """UPDATE notification SET status = 'sent', channel = $3, zalo_msg_id = $4, tracking_id = $5,
                 sent_at = clock_timestamp(), error_code = NULL, error_reason = NULL,
                 attempts = (SELECT count(*) FROM zalo_send_attempt a WHERE a.tenant_id = $1 AND a.notification_id = $2)
               WHERE tenant_id = $1 AND id = $2""", self.slug, self.nid, channel, sent.msg_id or None, tracking)
        if attempt is not None:
            await self.conn.execute("UPDATE zalo_send_attempt SET outcome = 'accepted' WHERE tenant_id = $1 "
                                    "AND notification_id = $2 AND n = $3", self.slug, self.nid, attempt)
        await self.conn.execute(
            """INSERT INTO message (tenant_id, citizen_id, direction, author, kind, text, payload, zalo_msg_id)
               VALUES ($1, $2, 'out', 'motcua', $3, $4, $5, $6)""",
            self.slug, self.n["citizen_id"], "zns" if channel == "zns" else ("image" if "image_url" in self.body else "text"),
            self.body.get("text"), {"notification_id": self.nid, "kind": self.n["kind"],
                                    **({"buttons": self.body["buttons"]} if "buttons" in self.body else {})},
            sent.msg_id or None)
        metrics.SENDS.labels(self.slug, channel, "sent").inc()


class _Done(Exception):
    """The message reached a final state inside ``_call`` (recorded failed)."""


async def _fail(conn: asyncpg.Connection, slug: str, nid: int, code: int | None, reason: str, *,
                channel: str | None = None, status: str = "failed") -> None:
    await conn.execute(
        """UPDATE notification SET status = $5, error_code = $3, error_reason = $4, channel = coalesce($6, channel),
             attempts = (SELECT count(*) FROM zalo_send_attempt a WHERE a.tenant_id = $1 AND a.notification_id = $2)
           WHERE tenant_id = $1 AND id = $2 AND status = 'queued'""", slug, nid, code, reason[:500], status, channel)
    metrics.SENDS.labels(slug, channel or "-", status).inc()
    log.info("notification %s/%s %s: %s", slug, nid, status, reason)
