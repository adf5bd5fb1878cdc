"""Officer inbox pages: ``/inbox/{tenant}/`` (queue), ``/inbox/{tenant}/c/{id}`` (thread)."""

from __future__ import annotations

import secrets
from urllib.parse import quote
from datetime import datetime, timedelta, timezone
from typing import Any

from litestar import MediaType, Request, Response, get, post

from motcua.domain import inbox
from motcua.domain.inbox import InboxError, NotVisible
from motcua.runtime import Runtime
from motcua.staff.web import PageError, check_csrf, form_data, home_for, not_found, redirect, render, require

WINDOW = timedelta(days=7)  # Zalo rejects consultation messages after 7 days without interaction

STATUS_LABELS = {"open": "Chờ trả lời", "waiting": "Đã trả lời", "closed": "Đã đóng"}


@get("/inbox/", operation_id="StaffInboxHome", include_in_schema=False)
async def inbox_home(request: Request, runtime: Runtime) -> Response[Any]:
    p, _ = await require(request, runtime)
    return redirect(home_for(p) if p.tenant is None else f"/inbox/{p.tenant}/")


async def _rows(runtime: Runtime, request: Request, tenant_slug: str, status: str, mine: bool):
    p, tenant = await require(request, runtime, tenant_slug)
    async with runtime.db.tenant(tenant.slug) as conn:
        if p.can_handle(tenant.slug):
            await inbox.sweep(conn, tenant)
        rows = await inbox.list_conversations(conn, p, tenant, status=status, mine=mine)
    return p, tenant, rows


@get("/inbox/{tenant:str}/", operation_id="StaffInbox", include_in_schema=False)
async def inbox_page(request: Request, runtime: Runtime, tenant: str, status: str = "active",
                     mine: bool = False) -> Response[Any]:
    p, t, rows = await _rows(runtime, request, tenant, status, mine)
    return render("inbox.html", me=p, tenant=t, rows=rows, status=status, mine=mine, labels=STATUS_LABELS)


@get("/inbox/{tenant:str}/rows", operation_id="StaffInboxRows", include_in_schema=False)
async def inbox_rows(request: Request, runtime: Runtime, tenant: str, status: str = "active",
                     mine: bool = False) -> Response[Any]:
    p, t, rows = await _rows(runtime, request, tenant, status, mine)
    return render("inbox_rows.html", me=p, tenant=t, rows=rows, labels=STATUS_LABELS)


async def _thread_context(runtime: Runtime, p: Any, tenant: Any, cid: int) -> dict[str, Any]:
    async with runtime.db.tenant(tenant.slug) as conn:
        try:
            conv = await inbox.get_conversation(conn, p, tenant, cid)
        except NotVisible:
            raise not_found() from None
        messages = await inbox.conversation_messages(conn, conv)
        canned = await conn.fetch("SELECT question, answer FROM faq WHERE tenant_id = $1 AND published "
                                  "ORDER BY position, id LIMIT 100", tenant.slug)
        agencies = await conn.fetch("SELECT code, name FROM agency WHERE tenant_id = $1 AND active ORDER BY name",
                                    tenant.slug)
        specialists = await conn.fetch("SELECT email, name FROM staff_user WHERE tenant_id = $1 AND active AND specialist "
                                       "AND role IN ('admin', 'officer') ORDER BY name", tenant.slug)
        tags = [r["tag"] for r in await conn.fetch("SELECT tag FROM citizen_tag WHERE tenant_id = $1 AND citizen_id = $2 "
                                                   "ORDER BY tag", tenant.slug, conv["citizen_id"])]
    last = conv["last_interaction_at"]
    window_open = last is not None and datetime.now(timezone.utc) - last < WINDOW
    return {"conv": conv, "messages": messages, "canned": canned, "agencies": agencies, "specialists": specialists,
            "tags": tags, "window_open": window_open, "nonce": secrets.token_urlsafe(12),
            "last_id": messages[-1]["id"] if messages else 0, "labels": STATUS_LABELS}


@get("/inbox/{tenant:str}/c/{cid:int}", operation_id="StaffConversation", include_in_schema=False)
async def conversation_page(request: Request, runtime: Runtime, tenant: str, cid: int,
                            error: str | None = None, done: str | None = None) -> Response[Any]:
    p, t = await require(request, runtime, tenant)
    ctx = await _thread_context(runtime, p, t, cid)
    return render("conversation.html", me=p, tenant=t, error=error, flash=done, **ctx)


def _meta(m: Any) -> str:
    who = {"in": "Công dân", "out": "Cán bộ", "note": "Ghi chú nội bộ"}[m["direction"]]
    author = (m["author"] or "").split(":", 1)[-1]
    return f"{who}{' · ' + author if author and m['direction'] != 'in' else ''} · " + \
        m["created_at"].astimezone(timezone(timedelta(hours=7))).strftime("%d/%m %H:%M")


@get("/inbox/{tenant:str}/c/{cid:int}/messages.json", operation_id="StaffConversationMessages",
     include_in_schema=False, media_type=MediaType.JSON)
async def conversation_messages(request: Request, runtime: Runtime, tenant: str, cid: int,
                                after: int = 0) -> dict[str, Any]:
    p, t = await require(request, runtime, tenant)
    async with runtime.db.tenant(t.slug) as conn:
        try:
            conv = await inbox.get_conversation(conn, p, t, cid)
        except NotVisible:
            raise not_found() from None
        rows = await inbox.conversation_messages(conn, conv, after=after)
    return {"status": conv["status"], "assignee": conv["assignee"], "agency_code": conv["agency_code"],
            "messages": [{"id": m["id"], "direction": m["direction"], "text": m["text"], "meta": _meta(m),
                          "at": m["created_at"].isoformat()} for m in rows]}


ACTIONS = ("reply", "note", "claim", "transfer", "escalate", "close", "tag")


@post("/inbox/{tenant:str}/c/{cid:int}/{action:str}", operation_id="StaffConversationAction", include_in_schema=False)
async def conversation_action(request: Request, runtime: Runtime, tenant: str, cid: int,
                              action: str) -> Response[Any]:
    p, t = await require(request, runtime, tenant)
    form = await form_data(request)
    check_csrf(request, p, form)
    if action not in ACTIONS:
        raise not_found()
    if not p.can_handle(t.slug):
        raise PageError(403, "Tài khoản của bạn chỉ được xem, không được xử lý.")
    done = {"reply": "Đã gửi câu trả lời.", "note": "Đã thêm ghi chú.", "claim": "Bạn đã nhận xử lý.",
            "transfer": "Đã chuyển cơ quan.", "escalate": "Đã chuyển chuyên viên.", "close": "Đã đóng.",
            "tag": "Đã gắn nhãn."}[action]
    try:
        async with runtime.db.tenant(t.slug) as conn:
            if action == "reply":
                await inbox.reply(conn, runtime, p, t, cid, str(form.get("text") or ""), nonce=str(form.get("nonce") or ""))
            elif action == "note":
                await inbox.add_note(conn, p, t, cid, str(form.get("text") or ""))
            elif action == "claim":
                await inbox.claim(conn, p, t, cid)
            elif action == "transfer":
                await inbox.transfer(conn, p, t, cid, str(form.get("agency_code") or ""), str(form.get("note") or ""))
            elif action == "escalate":
                await inbox.escalate(conn, p, t, cid, str(form.get("specialist") or ""), str(form.get("note") or ""))
            elif action == "close":
                await inbox.close(conn, p, t, cid)
            elif action == "tag":
                await _tag(conn, p, t, cid, str(form.get("tag") or ""))
    except NotVisible:
        raise not_found() from None
    except InboxError as exc:
        ctx = await _thread_context(runtime, p, t, cid)
        return render("conversation.html", http_status=400, me=p, tenant=t, error=str(exc), **ctx)
    # After a transfer the officer may no longer see it: back to the queue then.
    if action in ("transfer", "close"):
        return redirect(f"/inbox/{t.slug}/")
    return redirect(f"/inbox/{t.slug}/c/{cid}?done={quote(done)}")


async def _tag(conn: Any, p: Any, t: Any, cid: int, tag: str) -> None:
    from motcua.domain import audit
    from motcua.domain.broadcasts.service import _tags

    conv = await inbox.get_conversation(conn, p, t, cid)
    try:
        tags = _tags(tag)
    except ValueError as exc:
        raise InboxError(str(exc)) from None
    if not tags:
        raise InboxError("Nhãn đang trống.")
    for one in tags:
        await conn.execute("INSERT INTO citizen_tag (tenant_id, tag, citizen_id) VALUES ($1, $2, $3) "
                           "ON CONFLICT DO NOTHING", t.slug, one, conv["citizen_id"])
    await audit.record(conn, t.slug, p.actor, "tag", "citizen", conv["citizen_id"], after={"tags": tags})


ROUTES = [inbox_home, inbox_page, inbox_rows, conversation_page, conversation_messages, conversation_action]
