"""Feedback desk pages (``/inbox/{tenant}/feedback``), the citizen web form and the public page
of answered feedback (``/t/{tenant}/phan-anh``)."""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie

from motcua.domain import feedback
from motcua.domain.feedback import service as feedback_service
from motcua.domain.feedback import FeedbackError, NotVisible
from motcua.runtime import Runtime
from motcua.staff import settings_store
from motcua.staff.web import PageError, check_csrf, form_data, not_found, redirect, render, require, secure_cookies


@get("/inbox/{tenant:str}/feedback", operation_id="StaffFeedbackList", include_in_schema=False)
async def feedback_list(request: Request, runtime: Runtime, tenant: str, status: str = "active") -> Response[Any]:
    p, t = await require(request, runtime, tenant)
    async with runtime.db.tenant(t.slug) as conn:
        rows = await feedback.list_feedback(conn, p, t, status=status)
    return render("feedback_list.html", me=p, tenant=t, rows=rows, status=status, labels=feedback.STATUS_LABELS,
                  categories=feedback.CATEGORIES)


@get("/inbox/{tenant:str}/feedback/{fid:int}", operation_id="StaffFeedbackItem", include_in_schema=False)
async def feedback_item(request: Request, runtime: Runtime, tenant: str, fid: int,
                        done: str | None = None) -> Response[Any]:
    p, t = await require(request, runtime, tenant)
    return await _item_page(runtime, p, t, fid, flash=done)


async def _item_page(runtime: Runtime, p: Any, t: Any, fid: int, *, flash: str | None = None,
                     error: str | None = None, status: int = 200) -> Response[Any]:
    async with runtime.db.tenant(t.slug) as conn:
        try:
            fb = await feedback.get_feedback(conn, p, t, fid)
        except NotVisible:
            raise not_found() from None
        agencies = await conn.fetch("SELECT code, name FROM agency WHERE tenant_id = $1 AND active ORDER BY name", t.slug)
        public_page = (await settings_store.effective(conn, t))["public_feedback_page"]
    return render("feedback_item.html", http_status=status, me=p, tenant=t, fb=fb, agencies=agencies, flash=flash,
                  error=error, labels=feedback.STATUS_LABELS, categories=feedback.CATEGORIES,
                  next_statuses=sorted(feedback_service.NEXT[fb["status"]] - {"answered"}),
                  masked=feedback.mask_personal_data(fb["public_text"] or fb["content"]), public_page=public_page)


@post("/inbox/{tenant:str}/feedback/{fid:int}/{action:str}", operation_id="StaffFeedbackAction",
      include_in_schema=False)
async def feedback_action(request: Request, runtime: Runtime, tenant: str, fid: int, action: str) -> Response[Any]:
    p, t = await require(request, runtime, tenant)
    form = await form_data(request)
    check_csrf(request, p, form)
    if action not in ("assign", "status", "answer", "publish", "unpublish"):
        raise not_found()
    if not p.can_handle(t.slug):
        raise PageError(403, "Tài khoản của bạn chỉ được xem, không được xử lý.")
    try:
        async with runtime.db.tenant(t.slug) as conn:
            if action == "assign":
                await feedback.assign(conn, p, t, fid, agency_code=str(form.get("agency_code") or "") or None,
                                      assignee=str(form.get("assignee") or "").strip().lower() or None)
            elif action == "status":
                await feedback.set_status(conn, p, t, fid, str(form.get("status") or ""),
                                          reason=str(form.get("reason") or ""))
            elif action == "answer":
                await feedback.answer(conn, runtime, p, t, fid, str(form.get("answer") or ""))
            elif action == "publish":
                await feedback.publish(conn, p, t, fid, str(form.get("public_text") or "") or None)
            else:
                await feedback.unpublish(conn, p, t, fid)
    except NotVisible:
        raise not_found() from None
    except FeedbackError as exc:
        return await _item_page(runtime, p, t, fid, error=str(exc), status=400)
    done = {"assign": "Đã chuyển.", "status": "Đã cập nhật trạng thái.", "answer": "Đã trả lời người dân.",
            "publish": "Đã công khai.", "unpublish": "Đã thôi công khai."}[action]
    return redirect(f"/inbox/{t.slug}/feedback/{fid}?done={quote(done)}")


# Public --------------------------------------------------------------------------------------

async def _public_tenant(runtime: Runtime, tenant: str) -> Any:
    t = await runtime.tenant(tenant)
    if t is None:
        raise not_found()
    return t


@get("/t/{tenant:str}/phan-anh", operation_id="PublicFeedbackPage", include_in_schema=False)
async def public_page(runtime: Runtime, tenant: str, page: int = 1) -> Response[Any]:
    t = await _public_tenant(runtime, tenant)
    async with runtime.db.tenant(t.slug) as conn:
        if not (await settings_store.effective(conn, t))["public_feedback_page"]:
            raise not_found()
        items = await feedback.public_items(conn, t, limit=20, offset=(max(page, 1) - 1) * 20)
    return render("public_feedback.html", public=t, items=items, page=max(page, 1))


FORM_COOKIE = "motcua_pakn"


@get("/t/{tenant:str}/phan-anh/gui", operation_id="PublicFeedbackForm", include_in_schema=False)
async def public_form(runtime: Runtime, tenant: str) -> Response[Any]:
    t = await _public_tenant(runtime, tenant)
    if not t.file.features.feedback:
        raise not_found()
    token = secrets.token_urlsafe(16)
    return render("public_feedback_form.html", public=t, categories=feedback.CATEGORIES, token=token, values={},
                  error=None, cookies=[Cookie(key=FORM_COOKIE, value=token, path=f"/t/{t.slug}/phan-anh",
                                              httponly=True, samesite="strict", secure=secure_cookies(runtime))])


@post("/t/{tenant:str}/phan-anh/gui", operation_id="PublicFeedbackSubmit", include_in_schema=False)
async def public_submit(request: Request, runtime: Runtime, tenant: str) -> Response[Any]:
    t = await _public_tenant(runtime, tenant)
    form = await form_data(request)
    token = request.cookies.get(FORM_COOKIE, "")
    values = {k: str(form.get(k) or "") for k in ("category", "title", "content", "name", "phone", "address")}
    try:
        if not token or not hmac.compare_digest(token, str(form.get("token") or "")):
            raise FeedbackError("Biểu mẫu đã hết hạn; xin gửi lại.")
        if form.get("website"):  # a field people never see: only robots fill it in
            raise FeedbackError("Không gửi được phản ánh.")
        async with runtime.db.tenant(t.slug) as conn:
            created = await feedback.create_feedback(
                conn, t, category=values["category"], title=values["title"], content=values["content"], channel="web",
                contact={"name": values["name"], "phone": values["phone"], "address": values["address"]})
    except FeedbackError as exc:
        return render("public_feedback_form.html", http_status=400, public=t, categories=feedback.CATEGORIES,
                      token=token, values=values, error=str(exc))
    return render("public_feedback_sent.html", public=t, created=created)


ROUTES = [feedback_list, feedback_item, feedback_action, public_page, public_form, public_submit]
