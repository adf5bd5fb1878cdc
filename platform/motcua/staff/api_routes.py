"""JSON API for staff tools (same session cookie; writes need the ``X-CSRF-Token`` header)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import MediaType, Request, get, post

from motcua.domain import feedback, inbox
from motcua.domain.inbox import InboxError
from motcua.domain.kpi.queries import as_dict
from motcua.runtime import Runtime
from motcua.staff.kpi_routes import _period
from motcua.staff.web import PageError, check_csrf, not_found, require


class ReplyCreate(msgspec.Struct, forbid_unknown_fields=True):
    text: str
    nonce: str | None = None


def _conv(r: Any) -> dict[str, Any]:
    return {"id": r["id"], "citizen": r["citizen_name"], "agency_code": r["agency_code"], "assignee": r["assignee"],
            "status": r["status"], "topic": r["topic"], "overdue": r["overdue"],
            "deadline_at": r["deadline_at"].isoformat() if r["deadline_at"] else None}


@get("/api/v1/staff/me", operation_id="StaffMe", media_type=MediaType.JSON)
async def me(request: Request, runtime: Runtime) -> dict[str, Any]:
    """The signed-in staff member, with the CSRF token their writes must send."""
    p, _ = await require(request, runtime)
    return {"email": p.email, "name": p.name, "role": p.role, "tenant": p.tenant, "agencies": list(p.agencies),
            "csrf": p.csrf}


@get("/api/v1/tenants/{tenant:str}/inbox/conversations", operation_id="ListInboxConversations",
     media_type=MediaType.JSON)
async def list_conversations(request: Request, runtime: Runtime, tenant: str, status: str = "active") -> list[dict[str, Any]]:
    p, t = await require(request, runtime, tenant)
    async with runtime.db.tenant(t.slug) as conn:
        rows = await inbox.list_conversations(conn, p, t, status=status)
    return [_conv(r) for r in rows]


@get("/api/v1/tenants/{tenant:str}/inbox/conversations/{cid:int}", operation_id="GetInboxConversation",
     media_type=MediaType.JSON)
async def get_conversation(request: Request, runtime: Runtime, tenant: str, cid: int) -> dict[str, Any]:
    p, t = await require(request, runtime, tenant)
    async with runtime.db.tenant(t.slug) as conn:
        try:
            conv = await inbox.get_conversation(conn, p, t, cid)
        except inbox.NotVisible:
            raise not_found() from None
        msgs = await inbox.conversation_messages(conn, conv)
    return {**_conv(conv), "messages": [{"id": m["id"], "direction": m["direction"], "text": m["text"],
                                         "at": m["created_at"].isoformat()} for m in msgs]}


@post("/api/v1/tenants/{tenant:str}/inbox/conversations/{cid:int}/reply", operation_id="ReplyInboxConversation",
      media_type=MediaType.JSON, status_code=201)
async def reply(request: Request, runtime: Runtime, tenant: str, cid: int, data: ReplyCreate) -> dict[str, Any]:
    p, t = await require(request, runtime, tenant, need="handle")
    check_csrf(request, p)
    try:
        async with runtime.db.tenant(t.slug) as conn:
            mid = await inbox.reply(conn, runtime, p, t, cid, data.text, nonce=data.nonce)
    except inbox.NotVisible:
        raise not_found() from None
    except InboxError as exc:
        raise PageError(400, str(exc)) from None
    return {"message_id": mid}


@get("/api/v1/tenants/{tenant:str}/inbox/feedback/{fid:int}", operation_id="GetInboxFeedback",
     media_type=MediaType.JSON)
async def get_feedback(request: Request, runtime: Runtime, tenant: str, fid: int) -> dict[str, Any]:
    p, t = await require(request, runtime, tenant)
    async with runtime.db.tenant(t.slug) as conn:
        try:
            fb = await feedback.get_feedback(conn, p, t, fid)
        except feedback.NotVisible:
            raise not_found() from None
    return {"id": fb["id"], "title": fb["title"], "status": fb["status"], "agency_code": fb["agency_code"],
            "category": fb["category"], "due_at": fb["due_at"].isoformat() if fb["due_at"] else None,
            "answer": fb["answer"], "published": fb["published"]}


@get("/api/v1/tenants/{tenant:str}/kpi", operation_id="GetTenantKpi", media_type=MediaType.JSON)
async def kpi(request: Request, runtime: Runtime, tenant: str, start: str | None = None, end: str | None = None,
              agency: str | None = None) -> dict[str, Any]:
    from motcua.domain.kpi import tenant_kpis

    p, t = await require(request, runtime, tenant)
    period = _period(start, end, agency, t.file.timezone)
    async with runtime.db.tenant(t.slug) as conn:
        k = await tenant_kpis(conn, t.slug, period)
    return {"start": period.start.isoformat(), "end": period.end.isoformat(), "agency": period.agency, **as_dict(k)}


ROUTES = [me, list_conversations, get_conversation, reply, get_feedback, kpi]
