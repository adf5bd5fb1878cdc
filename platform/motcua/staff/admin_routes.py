"""Admin console (``/admin/...``): tenants overview and health (operators), tenant settings, the
Zalo OA connection, message templates with a live preview, agencies and routing, FAQ, news,
staff accounts, the audit log and broadcasts."""

from __future__ import annotations

import string
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import msgspec
from litestar import MediaType, Request, Response, get, post
from sqlalchemy import delete, func, select

from motcua.db.orm import tenant_session
from motcua.domain import audit, broadcasts
from motcua.domain.auth import AccountError, create_staff_user
from motcua.domain.auth.principal import ROLE_LABELS
from motcua.domain.inbox import route
from motcua.runtime import Runtime
from motcua.staff import settings_store
from motcua.staff.health import tenant_health
from motcua.staff.models import Faq, News
from motcua.staff.web import PageError, check_csrf, form_data, home_for, not_found, redirect, render, require


def _done(url: str, message: str) -> Any:
    return redirect(f"{url}?done={quote(message)}")


@get("/admin/", operation_id="AdminHome", include_in_schema=False)
async def admin_home(request: Request, runtime: Runtime) -> Response[Any]:
    p, _ = await require(request, runtime)
    if p.role != "operator":
        return redirect(home_for(p))
    rows = [await tenant_health(runtime, slug) for slug in await runtime.tenant_slugs()]
    return render("admin_home.html", me=p, rows=rows)


@get("/admin/health.json", operation_id="AdminHealth", include_in_schema=False, media_type=MediaType.JSON)
async def admin_health(request: Request, runtime: Runtime) -> list[dict[str, Any]]:
    await require(request, runtime, need="operator")
    return [await tenant_health(runtime, slug) for slug in await runtime.tenant_slugs()]


@get("/admin/{tenant:str}/", operation_id="AdminTenant", include_in_schema=False)
async def admin_tenant(request: Request, runtime: Runtime, tenant: str, done: str | None = None) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    async with runtime.db.tenant(t.slug) as conn:
        values = await settings_store.effective(conn, t)
    health = await tenant_health(runtime, t.slug)
    config = msgspec.json.format(msgspec.json.encode(t.file), indent=2).decode()
    return render("admin_tenant.html", me=p, tenant=t, values=values, editable=settings_store.EDITABLE, health=health,
                  config=config, flash=done)


@post("/admin/{tenant:str}/settings", operation_id="AdminTenantSettings", include_in_schema=False)
async def admin_settings(request: Request, runtime: Runtime, tenant: str) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    form = await form_data(request)
    check_csrf(request, p, form)
    # Only the fields the form sent change; a checkbox comes after a hidden "off" of the same name.
    changes: dict[str, Any] = {}
    if "public_feedback_page" in form:
        value = form["public_feedback_page"]
        changes["public_feedback_page"] = (value[-1] if isinstance(value, list) else value) == "on"
    if "reply_signature" in form:
        changes["reply_signature"] = str(form["reply_signature"])
    async with runtime.db.tenant(t.slug) as conn:
        await settings_store.update(conn, t, p.actor, changes)
    return _done(f"/admin/{t.slug}/", "Đã lưu cài đặt.")


# Templates ----------------------------------------------------------------------------------

SAMPLE = {"code": "000.00.07.H12-251119-0001", "procedure": "Đăng ký khai sinh", "agency": "Sở Tư pháp",
          "due": "25/11/2025", "status": "đã có kết quả", "papers": "Bản sao CCCD của cha, mẹ",
          "deadline": "28/11/2025", "note": "", "reason": "Lý do: chờ xác minh. ", "old_due": "20/11/2025",
          "new_due": "25/11/2025", "early": " sớm hơn ngày hẹn (25/11/2025)", "link": "https://…/t/…/hs/…",
          "name": "Nguyễn Văn A"}


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"  # an unknown placeholder stays visible in the preview


def _defaults() -> dict[str, str]:
    try:
        from motcua.domain.notifications.rules import DEFAULT_TEMPLATES
    except ImportError:  # citizen services not installed: only the tenant's own templates
        return {}
    return dict(DEFAULT_TEMPLATES)


def preview_text(template: str, values: dict[str, str] | None = None) -> str:
    try:
        return string.Formatter().vformat(template, (), _Keep(values or SAMPLE))
    except (ValueError, IndexError) as exc:
        raise PageError(400, f"Mẫu tin không hợp lệ: {exc}") from None


@get("/admin/{tenant:str}/templates", operation_id="AdminTemplates", include_in_schema=False)
async def admin_templates(request: Request, runtime: Runtime, tenant: str) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    defaults = _defaults()
    kinds = list(dict.fromkeys([*t.file.notifications.events, *t.file.notifications.templates, *defaults]))
    items = [{"kind": k, "text": t.file.notifications.templates.get(k) or defaults.get(k, ""),
              "own": k in t.file.notifications.templates, "enabled": k in t.file.notifications.events,
              "zns": (t.file.zalo.zns_templates.get(k) if t.file.zalo else None)} for k in kinds]
    return render("admin_templates.html", me=p, tenant=t, items=items, sample=SAMPLE)


@post("/admin/{tenant:str}/templates/preview", operation_id="AdminTemplatePreview", include_in_schema=False,
      media_type=MediaType.JSON)
async def admin_template_preview(request: Request, runtime: Runtime, tenant: str) -> dict[str, str]:
    p, t = await require(request, runtime, tenant, need="admin")
    form = await form_data(request)
    check_csrf(request, p, form)
    values = {k: str(form.get(f"sample_{k}", v)) for k, v in SAMPLE.items()}
    return {"text": preview_text(str(form.get("template") or ""), values)}


# Agencies and routing ------------------------------------------------------------------------

@get("/admin/{tenant:str}/agencies", operation_id="AdminAgencies", include_in_schema=False)
async def admin_agencies(request: Request, runtime: Runtime, tenant: str, q: str | None = None) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    async with runtime.db.tenant(t.slug) as conn:
        agencies = await conn.fetch("SELECT code, name, kind, active FROM agency WHERE tenant_id = $1 ORDER BY code",
                                    t.slug)
    topics = {a.code: a.topics for a in t.file.agencies}
    routed = route(t, q) if q else None
    names = {a["code"]: a["name"] for a in agencies}
    return render("admin_agencies.html", me=p, tenant=t, agencies=agencies, topics=topics, rules=t.file.routing,
                  q=q or "", routed=routed, names=names)


# FAQ and news (ORM) --------------------------------------------------------------------------

@get("/admin/{tenant:str}/faq", operation_id="AdminFaq", include_in_schema=False)
async def admin_faq(request: Request, runtime: Runtime, tenant: str, done: str | None = None) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    async with tenant_session(runtime, t.slug) as s:
        items = (await s.scalars(select(Faq).order_by(Faq.position, Faq.id))).all()
    return render("admin_faq.html", me=p, tenant=t, items=items, flash=done)


def _faq_values(form: dict[str, Any]) -> dict[str, Any]:
    question, answer = str(form.get("question") or "").strip(), str(form.get("answer") or "").strip()
    if not question or not answer:
        raise PageError(400, "Cần cả câu hỏi và câu trả lời.")
    try:
        position = int(form.get("position") or 0)
    except ValueError:
        raise PageError(400, "Thứ tự phải là số.") from None
    topic = str(form.get("topic") or "").strip() or None
    return {"question": question[:500], "answer": answer[:2000], "topic": topic, "position": position,
            "published": form.get("published") == "on",
            "search_key": func.motcua_fold(question + " " + (topic or ""))}


@post("/admin/{tenant:str}/faq", operation_id="AdminFaqCreate", include_in_schema=False)
async def admin_faq_create(request: Request, runtime: Runtime, tenant: str) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    form = await form_data(request)
    check_csrf(request, p, form)
    values = _faq_values(form)
    async with tenant_session(runtime, t.slug) as s:
        item = Faq(tenant_id=t.slug, **values)
        s.add(item)
        await s.flush()
        await audit.record_session(s, t.slug, p.actor, "create", "faq", item.id,
                           after={k: v for k, v in values.items() if k != "search_key"})
    return _done(f"/admin/{t.slug}/faq", "Đã thêm câu hỏi.")


@post("/admin/{tenant:str}/faq/{item_id:int}", operation_id="AdminFaqUpdate", include_in_schema=False)
async def admin_faq_update(request: Request, runtime: Runtime, tenant: str, item_id: int) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    form = await form_data(request)
    check_csrf(request, p, form)
    async with tenant_session(runtime, t.slug) as s:
        item = await s.get(Faq, (t.slug, item_id))
        if item is None:
            raise not_found()
        before = {"question": item.question, "answer": item.answer, "topic": item.topic, "published": item.published}
        if form.get("delete") == "1":
            await s.execute(delete(Faq).where(Faq.tenant_id == t.slug, Faq.id == item_id))
            await audit.record_session(s, t.slug, p.actor, "delete", "faq", item_id, before=before)
            return _done(f"/admin/{t.slug}/faq", "Đã xóa.")
        values = _faq_values(form)
        for k, v in values.items():
            setattr(item, k, v)
        await s.flush()
        await audit.record_session(s, t.slug, p.actor, "update", "faq", item_id, before=before,
                           after={k: v for k, v in values.items() if k != "search_key"})
    return _done(f"/admin/{t.slug}/faq", "Đã lưu.")


@get("/admin/{tenant:str}/news", operation_id="AdminNews", include_in_schema=False)
async def admin_news(request: Request, runtime: Runtime, tenant: str, done: str | None = None) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    async with tenant_session(runtime, t.slug) as s:
        items = (await s.scalars(select(News).order_by(News.published_at.desc().nulls_first(), News.id.desc()))).all()
    return render("admin_news.html", me=p, tenant=t, items=items, flash=done)


def _news_values(form: dict[str, Any], tz: str) -> dict[str, Any]:
    title = str(form.get("title") or "").strip()
    if not title:
        raise PageError(400, "Cần tiêu đề.")
    link, image = str(form.get("link") or "").strip() or None, str(form.get("image_url") or "").strip() or None
    for url in (link, image):
        if url and not url.startswith(("https://", "http://")):
            raise PageError(400, "Liên kết và ảnh phải là địa chỉ http(s).")
    published_at = None
    if form.get("published_at"):
        try:
            published_at = datetime.fromisoformat(str(form["published_at"])).replace(tzinfo=ZoneInfo(tz))
        except ValueError:
            raise PageError(400, "Thời gian đăng không hợp lệ.") from None
    return {"title": title[:300], "summary": str(form.get("summary") or "").strip()[:1000],
            "body": str(form.get("body") or "").strip()[:20000], "link": link, "image_url": image,
            "published_at": published_at}


@post("/admin/{tenant:str}/news", operation_id="AdminNewsCreate", include_in_schema=False)
async def admin_news_create(request: Request, runtime: Runtime, tenant: str) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    form = await form_data(request)
    check_csrf(request, p, form)
    values = _news_values(form, t.file.timezone)
    async with tenant_session(runtime, t.slug) as s:
        item = News(tenant_id=t.slug, **values)
        s.add(item)
        await s.flush()
        await audit.record_session(s, t.slug, p.actor, "create", "news", item.id, after=values)
    return _done(f"/admin/{t.slug}/news", "Đã thêm tin.")


@post("/admin/{tenant:str}/news/{item_id:int}", operation_id="AdminNewsUpdate", include_in_schema=False)
async def admin_news_update(request: Request, runtime: Runtime, tenant: str, item_id: int) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    form = await form_data(request)
    check_csrf(request, p, form)
    async with tenant_session(runtime, t.slug) as s:
        item = await s.get(News, (t.slug, item_id))
        if item is None:
            raise not_found()
        before = {"title": item.title, "summary": item.summary, "link": item.link, "published_at": item.published_at}
        if form.get("delete") == "1":
            await s.execute(delete(News).where(News.tenant_id == t.slug, News.id == item_id))
            await audit.record_session(s, t.slug, p.actor, "delete", "news", item_id, before=before)
            return _done(f"/admin/{t.slug}/news", "Đã xóa.")
        values = _news_values(form, t.file.timezone)
        for k, v in values.items():
            setattr(item, k, v)
        await s.flush()
        await audit.record_session(s, t.slug, p.actor, "update", "news", item_id, before=before, after=values)
    return _done(f"/admin/{t.slug}/news", "Đã lưu.")


# Staff accounts -----------------------------------------------------------------------------

@get("/admin/{tenant:str}/users", operation_id="AdminUsers", include_in_schema=False)
async def admin_users(request: Request, runtime: Runtime, tenant: str, done: str | None = None,
                      error: str | None = None) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    async with runtime.db.tenant(t.slug) as conn:
        users = await conn.fetch("SELECT id, email, name, role, agencies, specialist, active, password_hash IS NOT NULL "
                                 "AS has_password FROM staff_user WHERE tenant_id = $1 ORDER BY active DESC, role, email",
                                 t.slug)
        agencies = await conn.fetch("SELECT code, name FROM agency WHERE tenant_id = $1 AND active ORDER BY name", t.slug)
    return render("admin_users.html", me=p, tenant=t, users=users, agencies=agencies, roles=ROLE_LABELS, flash=done,
                  error=error)


@post("/admin/{tenant:str}/users", operation_id="AdminUsersSave", include_in_schema=False)
async def admin_users_save(request: Request, runtime: Runtime, tenant: str) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    form = await form_data(request)
    check_csrf(request, p, form)
    agencies = form.get("agencies") or []
    agencies = [agencies] if isinstance(agencies, str) else list(agencies)
    try:
        async with runtime.db.tenant(t.slug) as conn:
            before = await conn.fetchrow("SELECT email, name, role, agencies, specialist FROM staff_user "
                                         "WHERE tenant_id = $1 AND email = $2", t.slug,
                                         str(form.get("email") or "").strip().lower())
            row = await create_staff_user(conn, t.slug, email=str(form.get("email") or ""),
                                          name=str(form.get("name") or ""), role=str(form.get("role") or ""),
                                          agencies=agencies, password=str(form.get("password") or "") or None,
                                          specialist=form.get("specialist") == "on", update=True)
            await audit.record(conn, t.slug, p.actor, "update" if before else "create", "staff_user", row["id"],
                               before=before, after={k: row[k] for k in ("email", "name", "role", "agencies",
                                                                          "specialist")})
    except AccountError as exc:
        return redirect(f"/admin/{t.slug}/users?error={quote(str(exc))}")
    return _done(f"/admin/{t.slug}/users", "Đã lưu tài khoản.")


@post("/admin/{tenant:str}/users/{user_id:int}/deactivate", operation_id="AdminUsersDeactivate",
      include_in_schema=False)
async def admin_users_deactivate(request: Request, runtime: Runtime, tenant: str, user_id: int) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    check_csrf(request, p, await form_data(request))
    async with runtime.db.tenant(t.slug) as conn:
        email = await conn.fetchval("UPDATE staff_user SET active = false, updated_at = now() "
                                    "WHERE tenant_id = $1 AND id = $2 RETURNING email", t.slug, user_id)
        if email is None:
            raise not_found()
        await audit.record(conn, t.slug, p.actor, "deactivate", "staff_user", user_id, before={"active": True},
                           after={"active": False})
    async with runtime.db.system() as conn:  # their sessions end now
        await conn.execute("DELETE FROM staff_session WHERE tenant_id = $1 AND user_id = $2", t.slug, user_id)
    return _done(f"/admin/{t.slug}/users", f"Đã khóa tài khoản {email}.")


# Audit log ----------------------------------------------------------------------------------

@get("/admin/{tenant:str}/audit", operation_id="AdminAudit", include_in_schema=False)
async def admin_audit(request: Request, runtime: Runtime, tenant: str, entity: str | None = None) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    async with runtime.db.tenant(t.slug) as conn:
        rows = await audit.recent(conn, entity=entity or None)
    return render("admin_audit.html", me=p, tenant=t, rows=rows, entity=entity or "")


# Broadcasts ---------------------------------------------------------------------------------

@get("/admin/{tenant:str}/broadcasts", operation_id="AdminBroadcasts", include_in_schema=False)
async def admin_broadcasts(request: Request, runtime: Runtime, tenant: str, error: str | None = None) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    async with runtime.db.tenant(t.slug) as conn:
        rows = await conn.fetch("SELECT * FROM broadcast WHERE tenant_id = $1 ORDER BY id DESC LIMIT 50", t.slug)
        tags = await conn.fetch("SELECT tag, count(*) AS n FROM citizen_tag WHERE tenant_id = $1 GROUP BY tag "
                                "ORDER BY tag LIMIT 200", t.slug)
        followers = await broadcasts.recipients_count(conn, t.slug, [])
    return render("admin_broadcasts.html", me=p, tenant=t, rows=rows, tags=tags, followers=followers, error=error)


@post("/admin/{tenant:str}/broadcasts", operation_id="AdminBroadcastCreate", include_in_schema=False)
async def admin_broadcast_create(request: Request, runtime: Runtime, tenant: str) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    form = await form_data(request)
    check_csrf(request, p, form)
    scheduled = None
    if form.get("scheduled_at"):
        try:
            scheduled = datetime.fromisoformat(str(form["scheduled_at"])).replace(tzinfo=ZoneInfo(t.file.timezone))
        except ValueError:
            return redirect(f"/admin/{t.slug}/broadcasts?error={quote('Thời gian hẹn gửi không hợp lệ.')}")
    tags = form.get("tags") or []
    tags = [tags] if isinstance(tags, str) else list(tags)
    try:
        async with runtime.db.tenant(t.slug) as conn:
            bid = await broadcasts.create_broadcast(conn, p, t.slug, title=str(form.get("title") or ""),
                                                    text=str(form.get("text") or ""), tags=tags,
                                                    scheduled_at=scheduled)
    except broadcasts.BroadcastError as exc:
        return redirect(f"/admin/{t.slug}/broadcasts?error={quote(str(exc))}")
    return redirect(f"/admin/{t.slug}/broadcasts/{bid}")


@get("/admin/{tenant:str}/broadcasts/{bid:int}", operation_id="AdminBroadcast", include_in_schema=False)
async def admin_broadcast(request: Request, runtime: Runtime, tenant: str, bid: int) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    async with runtime.db.tenant(t.slug) as conn:
        b = await conn.fetchrow("SELECT * FROM broadcast WHERE tenant_id = $1 AND id = $2", t.slug, bid)
        if b is None:
            raise not_found()
        prog = await broadcasts.progress(conn, t.slug, bid)
        failures = await conn.fetch(
            "SELECT n.citizen_id, n.error_code, n.error_reason FROM notification n WHERE n.tenant_id = $1 "
            "AND n.dedupe_key LIKE 'broadcast:%' AND split_part(n.dedupe_key, ':', 2) = $2 AND n.status = 'failed' "
            "ORDER BY n.id LIMIT 50", t.slug, str(bid))
    return render("admin_broadcast.html", me=p, tenant=t, b=b, prog=prog, failures=failures)


@get("/admin/{tenant:str}/broadcasts/{bid:int}/progress.json", operation_id="AdminBroadcastProgress",
     include_in_schema=False, media_type=MediaType.JSON)
async def admin_broadcast_progress(request: Request, runtime: Runtime, tenant: str, bid: int) -> dict[str, Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    async with runtime.db.tenant(t.slug) as conn:
        prog = await broadcasts.progress(conn, t.slug, bid)
    if prog is None:
        raise not_found()
    return prog


@post("/admin/{tenant:str}/broadcasts/{bid:int}/cancel", operation_id="AdminBroadcastCancel", include_in_schema=False)
async def admin_broadcast_cancel(request: Request, runtime: Runtime, tenant: str, bid: int) -> Response[Any]:
    p, t = await require(request, runtime, tenant, need="admin")
    check_csrf(request, p, await form_data(request))
    try:
        async with runtime.db.tenant(t.slug) as conn:
            await broadcasts.cancel_broadcast(conn, p, t.slug, bid)
    except LookupError:
        raise not_found() from None
    except broadcasts.BroadcastError as exc:
        raise PageError(400, str(exc)) from None
    return redirect(f"/admin/{t.slug}/broadcasts/{bid}")


ROUTES = [admin_home, admin_health, admin_tenant, admin_settings, admin_templates, admin_template_preview,
          admin_agencies, admin_faq, admin_faq_create, admin_faq_update, admin_news, admin_news_create,
          admin_news_update, admin_users, admin_users_save, admin_users_deactivate, admin_audit, admin_broadcasts,
          admin_broadcast_create, admin_broadcast, admin_broadcast_progress, admin_broadcast_cancel]
