"""The ``zalo.event`` job: what a stored webhook event means for Motcua.

Runs in the worker, in the event's tenant transaction (so its effects happen once): updates
the citizen (follow state, shared info, last interaction), stores inbound messages, applies
delivery receipts to ``notification``, erases a citizen who withdrew consent, and hands
citizen events to the conversation layer (``dispatch``). Echoes of the OA's own messages never
reach the conversation layer; an admin's reply from Zalo's OA chat tool is kept as an outbound
message.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from motcua import metrics
from motcua.channels.zalo import citizens, tokens
from motcua.channels.zalo.client import QuotaExceeded, RateLimited, Rejected, TokenExpired, WindowClosed, ZaloClient
from motcua.channels.zalo.dispatch import ChatContext, ChatEvent, dispatch, wants_chat
from motcua.channels.zalo.events import ZaloEvent, convert, submitted_info
from motcua.channels.zalo.outbox import tracking_id
from motcua.jobs import Retry, enqueue

if TYPE_CHECKING:
    import asyncpg

    from motcua.jobs import Job, JobContext

RECEIPT_GRACE = timedelta(minutes=2)  # a receipt may overtake the commit of its own send

# Events that count as an interaction (open or extend the reply window), per zalo.md §1.5.
INTERACTIONS = frozenset({"follow", "user_submit_info", "user_click_chatnow", "user_reacted_message"})


def event_time(ev: ZaloEvent) -> datetime:
    try:
        return datetime.fromtimestamp(int(ev.ts) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


async def event_job(job: Job, ctx: JobContext) -> None:
    conn, slug = ctx.conn, ctx.tenant_id
    row = await conn.fetchrow(
        "SELECT id, event_key, event_name, payload, zalo_server, processed_at, received_at > now() - $3::interval AS fresh"
        " FROM webhook_event WHERE tenant_id = $1 AND id = $2 FOR UPDATE", slug, int(job.payload["event_id"]),
        RECEIPT_GRACE)
    if row is None or row["processed_at"] is not None:
        return
    tenant = await ctx.runtime.tenant(slug)
    if tenant is None or tenant.file.zalo is None:
        return
    ev = convert(row["payload"])
    oa_id = tenant.file.zalo.oa_id
    at = event_time(ev)
    name = ev.event_name

    if ev.is_receipt or (name == "user_received_message"):
        matched = await apply_receipt(conn, slug, ev, at, zns=row["zalo_server"] == "ZNS")
        if not matched and row["fresh"]:
            raise Retry("receipt for a message whose send is not committed yet", delay=10)
    elif ev.is_oa_echo:
        await store_admin_reply(conn, slug, oa_id, ev)
    elif (user := ev.user()) is not None:
        interaction = at if (name.startswith("user_send_") or name in INTERACTIONS) else None
        by_app = str(ev.user_id_by_app) if ev.user_id_by_app is not None else None
        citizen_id, new = await citizens.upsert(conn, slug, oa_id, user, by_app=by_app, interaction_at=interaction)
        if new and name != "user_withdraw":  # webhooks carry no name: ask Zalo once (§1.7)
            await enqueue(conn, slug, "zalo.profile", {"citizen_id": citizen_id}, dedupe_key=f"zalo.profile:{citizen_id}",
                          max_attempts=4)
        message_id = None
        payload: dict[str, Any] = {}
        if name == "follow":
            await conn.execute("UPDATE citizen SET following = true, followed_at = $3 WHERE tenant_id = $1 AND id = $2",
                               slug, citizen_id, at)
        elif name == "unfollow":
            await conn.execute("UPDATE citizen SET following = false WHERE tenant_id = $1 AND id = $2", slug, citizen_id)
        elif name == "user_submit_info":
            info = submitted_info(ev.info)
            await citizens.save_info(conn, ctx.runtime.crypto, slug, citizen_id, info, at)
            payload = {"shared": sorted(info)}  # which fields, never the values
            # The raw event carried the phone and address in clear: keep only that it happened.
            await conn.execute("UPDATE webhook_event SET payload = payload - 'info' || '{\"info\": \"sealed\"}' "
                               "WHERE tenant_id = $1 AND id = $2", slug, row["id"])
        elif name == "user_withdraw":
            await citizens.erase(conn, slug, citizen_id, user)
        elif name.startswith("user_send_"):
            message_id, payload = await store_inbound(conn, slug, citizen_id, ev)
        if wants_chat(ev) and name != "user_withdraw":
            kind = name.removeprefix("user_send_") if name.startswith("user_send_") else name
            chat = ChatEvent(event_id=row["id"], event_key=row["event_key"], event_name=name, kind=kind,
                             citizen_id=citizen_id, zalo_user_id=user,
                             text=ev.message.text if ev.message else None, payload=payload,
                             message_id=message_id, raw=ev)
            await dispatch(chat, ChatContext(conn=conn, runtime=ctx.runtime, tenant=tenant, event=chat))
    await conn.execute("UPDATE webhook_event SET processed_at = now() WHERE tenant_id = $1 AND id = $2", slug, row["id"])
    metrics.EVENTS_PROCESSED.labels(slug, "zalo", name or "-").inc()


async def store_inbound(conn: asyncpg.Connection, slug: str, citizen_id: int, ev: ZaloEvent) -> tuple[int, dict[str, Any]]:
    """The citizen's message as a ``message`` row (direction 'in'); attachments in ``payload``
    (an image's URL also as ``payload.url``)."""
    msg = ev.message
    payload: dict[str, Any] = {}
    if msg and msg.attachments:
        payload["attachments"] = [{"type": a.type, "payload": a.payload} for a in msg.attachments]
        first = msg.attachments[0].payload
        if isinstance(first, dict) and first.get("url"):
            payload["url"] = first["url"]
        if isinstance(first, dict) and isinstance(first.get("coordinates"), dict):
            payload["coordinates"] = first["coordinates"]
    if msg and msg.quote_msg_id is not None:
        payload["quote_msg_id"] = str(msg.quote_msg_id)
    kind = ev.event_name.removeprefix("user_send_")
    message_id = await conn.fetchval(
        """INSERT INTO message (tenant_id, citizen_id, direction, author, kind, text, payload, zalo_msg_id)
           VALUES ($1, $2, 'in', 'citizen', $3, $4, $5, $6) RETURNING id""",
        slug, citizen_id, kind, msg.text if msg else None, payload, ev.msg_id)
    return message_id, payload


async def store_admin_reply(conn: asyncpg.Connection, slug: str, oa_id: str, ev: ZaloEvent) -> None:
    """An echo with ``admin_id`` is a person answering from Zalo's OA chat tool: keep it in the
    conversation. Echoes of our own API sends are already recorded by the sender."""
    if not ev.sender or ev.sender.admin_id is None or not (user := ev.user()):
        return
    citizen_id, _ = await citizens.upsert(conn, slug, oa_id, user)
    await conn.execute(
        """INSERT INTO message (tenant_id, citizen_id, direction, author, kind, text, payload, zalo_msg_id)
           VALUES ($1, $2, 'out', $3, $4, $5, '{}', $6)""",
        slug, citizen_id, f"oa-admin:{ev.sender.admin_id}", ev.event_name.removeprefix("oa_send_"),
        ev.message.text if ev.message else None, ev.msg_id)


async def apply_receipt(conn: asyncpg.Connection, slug: str, ev: ZaloEvent, at: datetime, *, zns: bool) -> bool:
    """Delivery and seen receipts move ``notification`` forward (never back). True if one matched."""
    msg = ev.message
    if msg is None:
        return True
    if ev.event_name == "user_seen_message":
        ids = [str(i) for i in (msg.msg_ids or [])] + ([ev.msg_id] if ev.msg_id else [])
        res = await conn.execute(
            """UPDATE notification SET seen_at = coalesce(seen_at, $3), delivered_at = coalesce(delivered_at, $3),
                 status = CASE WHEN status = 'sent' THEN 'delivered' ELSE status END
               WHERE tenant_id = $1 AND zalo_msg_id = ANY($2::text[])""", slug, ids, at)
        return res != "UPDATE 0"
    if zns or msg.tracking_id:
        when = at
        if msg.delivery_time is not None:  # ZNS: the device's receipt time, not the event's (§4.8)
            when = event_time(ZaloEvent(timestamp=msg.delivery_time))
        res = await conn.execute(
            """UPDATE notification SET status = 'delivered', delivered_at = coalesce(delivered_at, $3),
                 zalo_msg_id = coalesce(zalo_msg_id, $4), channel = coalesce(channel, 'zns')
               WHERE tenant_id = $1 AND tracking_id = $2 AND status IN ('queued', 'sent', 'delivered')""",
            slug, msg.tracking_id, when, ev.msg_id)
        if res == "UPDATE 0" and msg.tracking_id:
            # The worker died after Zalo accepted: the row is still queued with no tracking id
            # recorded. Our tracking ids are "<tenant>-<notification id>".
            nid = msg.tracking_id.rsplit("-", 1)[-1]
            if nid.isdigit() and tracking_id(slug, int(nid)) == msg.tracking_id:
                res = await conn.execute(
                    """UPDATE notification SET status = 'delivered', delivered_at = $3, zalo_msg_id = $4,
                         tracking_id = $5, channel = 'zns', sent_at = coalesce(sent_at, $3)
                       WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'sent')""",
                    slug, int(nid), when, ev.msg_id, msg.tracking_id)
        return res != "UPDATE 0"
    res = await conn.execute(
        """UPDATE notification SET status = 'delivered', delivered_at = coalesce(delivered_at, $3)
           WHERE tenant_id = $1 AND zalo_msg_id = $2 AND status IN ('sent', 'delivered')""", slug, ev.msg_id, at)
    return res != "UPDATE 0"


async def profile_job(job: Job, ctx: JobContext) -> None:
    """``zalo.profile``: the new citizen's display name from ``/v3.0/oa/user/detail``. Best
    effort: a disconnected OA or a refusal leaves the name empty; network trouble retries."""
    conn, slug, rt = ctx.conn, ctx.tenant_id, ctx.runtime
    row = await conn.fetchrow("SELECT zalo_user_id, display_name, erased_at FROM citizen WHERE tenant_id = $1 AND id = $2",
                              slug, int(job.payload["citizen_id"]))
    if row is None or row["display_name"] or row["erased_at"]:
        return
    try:
        token = await tokens.access_token(rt, slug)
        detail = await ZaloClient(rt.http, rt.settings.zalo).user_detail(token, row["zalo_user_id"])
    except (tokens.NotConnected, Rejected, WindowClosed, QuotaExceeded, RateLimited, TokenExpired):
        return
    name = str(detail.get("display_name") or "").strip()
    if name:
        await conn.execute("UPDATE citizen SET display_name = $3 WHERE tenant_id = $1 AND id = $2 "
                           "AND display_name IS NULL AND erased_at IS NULL", slug, int(job.payload["citizen_id"]), name[:200])


async def cleanup_job(job: Job, ctx: JobContext) -> None:
    """``zalo.cleanup`` (daily per tenant): raw webhook events past the tenant's retention
    (``retention.webhook_events_days``; dedupe needs only Zalo's two-hour retry window), send
    attempts of finished messages after a week, and abandoned OAuth states."""
    conn, slug = ctx.conn, ctx.tenant_id
    tenant = await ctx.runtime.tenant(slug)
    days = tenant.file.retention.webhook_events_days if tenant else 90
    await conn.execute("DELETE FROM webhook_event WHERE tenant_id = $1 AND source = 'zalo' AND processed_at IS NOT NULL "
                       "AND received_at < now() - make_interval(days => $2)", slug, days)
    await conn.execute("""DELETE FROM zalo_send_attempt a USING notification n
                          WHERE a.tenant_id = $1 AND n.tenant_id = a.tenant_id AND n.id = a.notification_id
                            AND n.status <> 'queued' AND a.started_at < now() - interval '7 days'""", slug)
    await conn.execute("DELETE FROM zalo_oauth_state WHERE tenant_id = $1 AND created_at < now() - interval '1 hour'",
                       slug)
