"""Inbox operations. Each runs in the caller's tenant transaction, checks what the principal may
see, writes the audit log, and never commits (the request does)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg

from motcua.domain import audit
from motcua.domain.auth.principal import Principal
from motcua.domain.inbox.routing import route
from motcua.tenancy.schema import Tenant

MAX_REPLY = 2000  # characters; the outbox splits or trims to Zalo's limit


class InboxError(ValueError):
    """The action cannot be done; the message is Vietnamese, for the officer."""


class NotVisible(LookupError):
    """No such conversation for this person: absent, another tenant's, or another agency's."""


def deadline(tenant: Tenant) -> timedelta:
    return timedelta(hours=float(tenant.file.sla.question_hours))


async def open_conversation(conn: asyncpg.Connection, tenant: Tenant, citizen_id: int, *, topic: str | None = None,
                            text: str | None = None, category: str | None = None) -> int:
    """The citizen's open conversation (created, routed and given its deadline if there is none)."""
    existing = await conn.fetchval(
        "SELECT id FROM conversation WHERE tenant_id = $1 AND citizen_id = $2 AND status <> 'closed' "
        "ORDER BY id DESC LIMIT 1", tenant.slug, citizen_id)
    if existing:
        await conn.execute("UPDATE conversation SET status = 'open', updated_at = now() "
                           "WHERE tenant_id = $1 AND id = $2", tenant.slug, existing)
        return existing
    return await conn.fetchval(
        "INSERT INTO conversation (tenant_id, citizen_id, agency_code, topic, deadline_at) "
        "VALUES ($1, $2, $3, $4, now() + $5) RETURNING id",
        tenant.slug, citizen_id, route(tenant, " ".join(filter(None, [topic, text])), category), topic,
        deadline(tenant))


async def sweep(conn: asyncpg.Connection, tenant: Tenant, *, limit: int = 500) -> int:
    """Route and give a deadline to conversations handed over without them (idempotent)."""
    rows = await conn.fetch(
        """SELECT c.id, c.topic, c.agency_code, c.deadline_at,
                  (SELECT string_agg(m.text, ' ' ORDER BY m.id) FROM (
                     SELECT id, text FROM message WHERE tenant_id = c.tenant_id AND citizen_id = c.citizen_id
                       AND direction = 'in' AND created_at <= c.created_at + interval '1 minute'
                     ORDER BY id DESC LIMIT 3) m) AS recent
           FROM conversation c WHERE c.tenant_id = $1 AND c.status <> 'closed'
             AND (c.agency_code IS NULL OR c.deadline_at IS NULL) LIMIT $2""", tenant.slug, limit)
    for r in rows:
        agency = r["agency_code"] or route(tenant, " ".join(filter(None, [r["topic"], r["recent"]])))
        await conn.execute(
            "UPDATE conversation SET agency_code = $3, deadline_at = coalesce(deadline_at, created_at + $4) "
            "WHERE tenant_id = $1 AND id = $2", tenant.slug, r["id"], agency, deadline(tenant))
    return len(rows)


def _scope_sql(p: Principal, first_param: int) -> tuple[str, list[Any]]:
    if p.all_agencies:
        return "", []
    return (f" AND (c.agency_code = ANY(${first_param}::text[]) OR c.assignee = ${first_param + 1})",
            [list(p.agencies), p.email])


async def list_conversations(conn: asyncpg.Connection, p: Principal, tenant: Tenant, *, status: str = "active",
                             mine: bool = False, limit: int = 200) -> list[asyncpg.Record]:
    """Conversations this person may see, most urgent first (overdue, then nearest deadline)."""
    statuses = {"active": ["open", "waiting"], "open": ["open"], "waiting": ["waiting"],
                "closed": ["closed"]}.get(status, ["open", "waiting"])
    scope, args = _scope_sql(p, 4)
    mine_sql = f" AND c.assignee = ${4 + len(args)}" if mine else ""
    if mine:
        args.append(p.email)
    return await conn.fetch(
        f"""SELECT c.*, coalesce(z.display_name, 'Công dân #' || z.id) AS citizen_name, a.name AS agency_name,
                   c.deadline_at < now() AND c.status = 'open' AS overdue, lm.text AS last_text, lm.direction AS last_dir,
                   coalesce(lm.created_at, c.created_at) AS last_at
            FROM conversation c JOIN citizen z ON z.tenant_id = c.tenant_id AND z.id = c.citizen_id
            LEFT JOIN agency a ON a.tenant_id = c.tenant_id AND a.code = c.agency_code
            LEFT JOIN LATERAL (SELECT text, direction, created_at FROM message m
                               WHERE m.tenant_id = c.tenant_id AND m.citizen_id = c.citizen_id
                                 AND m.created_at >= c.created_at - interval '1 hour' AND m.direction <> 'note'
                               ORDER BY m.id DESC LIMIT 1) lm ON true
            WHERE c.tenant_id = $1 AND c.status = ANY($2::text[]) {scope} {mine_sql}
            ORDER BY (c.status = 'open') DESC, c.deadline_at NULLS LAST, c.id LIMIT $3""",
        tenant.slug, statuses, limit, *args)


async def get_conversation(conn: asyncpg.Connection, p: Principal, tenant: Tenant, conversation_id: int,
                           *, for_update: bool = False) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""SELECT c.*, coalesce(z.display_name, 'Công dân #' || z.id) AS citizen_name, z.last_interaction_at,
                   a.name AS agency_name, c.deadline_at < now() AND c.status = 'open' AS overdue
            FROM conversation c JOIN citizen z ON z.tenant_id = c.tenant_id AND z.id = c.citizen_id
            LEFT JOIN agency a ON a.tenant_id = c.tenant_id AND a.code = c.agency_code
            WHERE c.tenant_id = $1 AND c.id = $2 {'FOR UPDATE OF c' if for_update else ''}""",
        tenant.slug, conversation_id)
    if row is None or not p.sees(row["agency_code"], row["assignee"]):
        raise NotVisible(conversation_id)
    return row


async def conversation_messages(conn: asyncpg.Connection, conv: asyncpg.Record, *, after: int = 0,
                                include_notes: bool = True) -> list[asyncpg.Record]:
    """The thread: the conversation's own messages and the citizen's messages since it began."""
    return await conn.fetch(
        """SELECT id, direction, author, kind, text, payload, created_at FROM message
           WHERE tenant_id = $1 AND citizen_id = $2 AND id > $4
             AND (conversation_id = $3 OR (conversation_id IS NULL AND created_at >= $5::timestamptz - interval '1 hour'))
             AND ($6 OR direction <> 'note')
           ORDER BY id LIMIT 500""",
        conv["tenant_id"], conv["citizen_id"], conv["id"], after, conv["created_at"], include_notes)


def _writable(p: Principal, tenant: Tenant, conv: asyncpg.Record) -> None:
    if not p.can_handle(tenant.slug):
        raise InboxError("Tài khoản của bạn chỉ được xem, không được xử lý.")
    if conv["status"] == "closed":
        raise InboxError("Cuộc trò chuyện đã đóng.")


async def _note(conn: asyncpg.Connection, conv: asyncpg.Record, author: str, text: str) -> int:
    return await conn.fetchval(
        "INSERT INTO message (tenant_id, citizen_id, conversation_id, direction, author, text) "
        "VALUES ($1, $2, $3, 'note', $4, $5) RETURNING id", conv["tenant_id"], conv["citizen_id"], conv["id"],
        author, text)


async def claim(conn: asyncpg.Connection, p: Principal, tenant: Tenant, conversation_id: int) -> None:
    conv = await get_conversation(conn, p, tenant, conversation_id, for_update=True)
    _writable(p, tenant, conv)
    if conv["assignee"] == p.email:
        return
    await conn.execute("UPDATE conversation SET assignee = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
                       tenant.slug, conversation_id, p.email)
    await audit.record(conn, tenant.slug, p.actor, "claim", "conversation", conversation_id,
                       before={"assignee": conv["assignee"]}, after={"assignee": p.email})


async def transfer(conn: asyncpg.Connection, p: Principal, tenant: Tenant, conversation_id: int,
                   agency_code: str, note: str = "") -> None:
    conv = await get_conversation(conn, p, tenant, conversation_id, for_update=True)
    _writable(p, tenant, conv)
    name = await conn.fetchval("SELECT name FROM agency WHERE tenant_id = $1 AND code = $2 AND active",
                               tenant.slug, agency_code)
    if name is None:
        raise InboxError("Không có cơ quan này.")
    await conn.execute("UPDATE conversation SET agency_code = $3, assignee = NULL, status = 'open', updated_at = now() "
                       "WHERE tenant_id = $1 AND id = $2", tenant.slug, conversation_id, agency_code)
    await _note(conn, conv, p.actor, f"Chuyển sang {name}." + (f" {note.strip()}" if note.strip() else ""))
    await audit.record(conn, tenant.slug, p.actor, "transfer", "conversation", conversation_id,
                       before={"agency_code": conv["agency_code"], "assignee": conv["assignee"]},
                       after={"agency_code": agency_code, "assignee": None})


async def escalate(conn: asyncpg.Connection, p: Principal, tenant: Tenant, conversation_id: int,
                   specialist_email: str, note: str = "") -> None:
    """Hand a hard question to a specialist (an account marked specialist), keeping the agency."""
    conv = await get_conversation(conn, p, tenant, conversation_id, for_update=True)
    _writable(p, tenant, conv)
    who = await conn.fetchrow("SELECT email, name FROM staff_user WHERE tenant_id = $1 AND email = $2 AND active "
                              "AND specialist AND role IN ('admin', 'officer')", tenant.slug,
                              (specialist_email or "").strip().lower())
    if who is None:
        raise InboxError("Không tìm thấy chuyên viên này.")
    await conn.execute("UPDATE conversation SET assignee = $3, escalated_at = now(), status = 'open', "
                       "updated_at = now() WHERE tenant_id = $1 AND id = $2", tenant.slug, conversation_id, who["email"])
    await _note(conn, conv, p.actor, f"Chuyển chuyên viên {who['name']}." + (f" {note.strip()}" if note.strip() else ""))
    await audit.record(conn, tenant.slug, p.actor, "escalate", "conversation", conversation_id,
                       before={"assignee": conv["assignee"]}, after={"assignee": who["email"]})


async def add_note(conn: asyncpg.Connection, p: Principal, tenant: Tenant, conversation_id: int, text: str) -> int:
    conv = await get_conversation(conn, p, tenant, conversation_id)
    _writable(p, tenant, conv)
    text = (text or "").strip()
    if not text:
        raise InboxError("Ghi chú đang trống.")
    mid = await _note(conn, conv, p.actor, text[:MAX_REPLY])
    await audit.record(conn, tenant.slug, p.actor, "note", "conversation", conversation_id, after={"message_id": mid})
    return mid


async def reply(conn: asyncpg.Connection, runtime: Any, p: Principal, tenant: Tenant, conversation_id: int,
                text: str, *, nonce: str | None = None) -> int:
    """Store the officer's answer and queue it to the citizen on Zalo, in this transaction.

    ``nonce`` (one per rendered form) makes a resubmitted form a no-op: the first message's id
    is returned again."""
    from motcua.channels.zalo.outbox import queue_message

    conv = await get_conversation(conn, p, tenant, conversation_id, for_update=True)
    _writable(p, tenant, conv)
    text = (text or "").strip()
    if not text:
        raise InboxError("Câu trả lời đang trống.")
    if len(text) > MAX_REPLY:
        raise InboxError(f"Câu trả lời dài quá {MAX_REPLY} ký tự; xin chia thành nhiều tin.")
    if nonce:
        done = await conn.fetchval("SELECT id FROM message WHERE tenant_id = $1 AND conversation_id = $2 "
                                   "AND direction = 'out' AND payload->>'nonce' = $3", tenant.slug, conversation_id, nonce)
        if done:
            return done
    mid = await conn.fetchval(
        "INSERT INTO message (tenant_id, citizen_id, conversation_id, direction, author, text, payload) "
        "VALUES ($1, $2, $3, 'out', $4, $5, $6) RETURNING id", tenant.slug, conv["citizen_id"], conversation_id,
        p.actor, text, {"nonce": nonce} if nonce else {})
    # The province's signature (admin console, ``tenant_setting.reply_signature``) ends every answer.
    signature = await conn.fetchval("SELECT value #>> '{}' FROM tenant_setting WHERE tenant_id = $1 "
                                    "AND key = 'reply_signature'", tenant.slug)
    sent = f"{text}\n— {signature}" if signature else text
    await queue_message(conn, runtime, tenant, conv["citizen_id"], kind="answer", text=sent,
                        dedupe_key=f"inbox:{conversation_id}:{mid}",
                        zns=("answer_waiting", {"customer_name": conv["citizen_name"] or "",
                                                "topic": (conv["topic"] or "câu hỏi của ông/bà")[:30]}))
    await conn.execute(
        "UPDATE conversation SET status = 'waiting', assignee = coalesce(assignee, $3), "
        "first_answer_at = coalesce(first_answer_at, now()), updated_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant.slug, conversation_id, p.email)
    await audit.record(conn, tenant.slug, p.actor, "reply", "conversation", conversation_id,
                       before={"status": conv["status"]}, after={"status": "waiting", "message_id": mid})
    return mid


async def close(conn: asyncpg.Connection, p: Principal, tenant: Tenant, conversation_id: int) -> None:
    conv = await get_conversation(conn, p, tenant, conversation_id, for_update=True)
    _writable(p, tenant, conv)
    await conn.execute("UPDATE conversation SET status = 'closed', closed_at = now(), updated_at = now() "
                       "WHERE tenant_id = $1 AND id = $2", tenant.slug, conversation_id)
    await audit.record(conn, tenant.slug, p.actor, "close", "conversation", conversation_id,
                       before={"status": conv["status"]}, after={"status": "closed"})
