"""The status page a citizen opens from the QR code on their receipt, and its rating form.

``GET /t/{tenant}/hs/{code}?t=<token>`` where ``token = crypto.sign(f"{tenant}:{code_key}")``.
Without the right token the page answers 404 with a kind explanation that never says whether
the code exists, so codes cannot be enumerated. No framework, no script, CSS inlined: the page
is one small request on a cheap phone.
"""

from __future__ import annotations

import hashlib
import html
import string
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from motcua.domain.conversation import dossier as dossiers
from motcua.domain.conversation.service import refresh_dossier
from motcua.domain.ratings import service as ratings
from motcua.onestop.codes import normalize_code
from motcua.runtime import Runtime

WEB = Path(__file__).resolve().parent.parent / "web"
FRESH_SECONDS = 60
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                                      "form-action 'self'; frame-ancestors 'none'"}


@cache
def _layout() -> string.Template:
    return string.Template((WEB / "templates" / "citizen" / "page.html").read_text(encoding="utf-8"))


@cache
def _css() -> str:
    return (WEB / "static" / "citizen-status.css").read_text(encoding="utf-8")


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def page(title: str, tenant_name: str, body: str, *, status: int = 200,
         footer: str = "Thông tin do hệ thống một cửa điện tử của tỉnh cung cấp.") -> Response[str]:
    text = _layout().substitute(title=e(title), tenant_name=e(tenant_name), body=body, css=_css(), footer=e(footer))
    return Response(text, status_code=status, media_type=MediaType.HTML, headers=HEADERS)


def not_available(tenant_name: str = "Dịch vụ công trên Zalo") -> Response[str]:
    """The same answer for a wrong token, a missing token and an unknown code or tenant."""
    body = ('<div class="card"><h1>Chưa mở được trang hồ sơ</h1>'
            "<p>Đường dẫn chưa đúng hoặc đã bị cắt. Xin ông/bà quét lại mã QR trên giấy tiếp nhận hồ sơ, "
            "hoặc nhắn mã hồ sơ cho trang Zalo của Trung tâm Phục vụ hành chính công để tra cứu.</p></div>")
    return page("Không tìm thấy", tenant_name, body, status=404)


def rater_for(token: str) -> str:
    """One rating per receipt: the rater is the receipt's token, hashed (never stored as is)."""
    return "receipt:" + hashlib.sha256(token.encode()).hexdigest()[:24]


async def _context(runtime: Runtime, tenant: str, code: str, t: str | None):
    cfg = await runtime.tenant(tenant)
    if cfg is None:
        return None, None
    key = normalize_code(code)
    if not key or not t or not runtime.crypto.verify(dossiers.status_token_message(tenant, key), t):
        return cfg, None
    return cfg, key


def _status_class(status: str) -> str:
    if status in ("resolved", "returned"):
        return "ok"
    if status in ("supplement_required", "awaiting_payment"):
        return "warn"
    if status in ("not_accepted", "stopped"):
        return "bad"
    return ""


def _rating_form(view: dossiers.DossierView, action: str, existing: ratings.Rating | None) -> str:
    chosen = existing.overall if existing else None
    levels = "".join(
        f'<label class="r"><input type="radio" name="overall" value="{v}" required'
        f'{" checked" if chosen == v else ""}>{e(label)}</label>' for v, label in ratings.LEVELS.items())
    crit = []
    for cid, label, options in ratings.CRITERIA:
        have = existing.criteria.get(cid) if existing else None
        opts = "".join(f'<label class="r"><input type="radio" name="{cid}" value="{p}"'
                       f'{" checked" if have == p else ""}>{e(text)}</label>' for p, text in options)
        crit.append(f"<fieldset><legend>{e(label)}</legend>{opts}</fieldset>")
    comment = e(existing.comment) if existing and existing.comment else ""
    head = "Sửa đánh giá của ông/bà" if existing else "Đánh giá mức độ hài lòng"
    return (f'<form class="card" id="danh-gia" method="post" action="{e(action)}">'
            f"<h2>{head}</h2><fieldset><legend>Ông/bà hài lòng với việc giải quyết hồ sơ?</legend>{levels}</fieldset>"
            f"<details><summary>Đánh giá chi tiết theo 9 tiêu chí (không bắt buộc)</summary>{''.join(crit)}</details>"
            f'<label for="comment"><b>Góp ý thêm</b> (không bắt buộc)</label>'
            f'<textarea id="comment" name="comment" maxlength="1000">{comment}</textarea>'
            f'<button type="submit">Gửi đánh giá</button></form>')


def render_status(runtime: Runtime, tenant, view: dossiers.DossierView, token: str, *,
                  rating: ratings.Rating | None, message: str = "", error: str = "", stale_note: str = "") -> str:
    tz = tenant.file.timezone
    parts = []
    if message:
        parts.append(f'<div class="msg good" role="status">{e(message)}</div>')
    if error:
        parts.append(f'<div class="msg err" role="alert">{e(error)}</div>')
    info = [("Thủ tục", view.procedure_name), ("Cơ quan giải quyết", view.agency_name),
            ("Ngày tiếp nhận", dossiers.vn_date(view.received_at or view.submitted_at, tz)),
            ("Ngày hẹn trả kết quả", dossiers.vn_date(view.due_at, tz))]
    if view.finished_at:
        info.append(("Ngày có kết quả", dossiers.vn_date(view.finished_at, tz)))
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in info if v)
    timing = view.timing
    note = ""
    if view.status in ("resolved", "returned") and timing and timing.value == "early":
        note = '<p class="ok">Hồ sơ được giải quyết sớm hơn ngày hẹn.</p>'
    elif timing and timing.value == "overdue":
        note = ('<p class="bad">Hồ sơ chậm so với ngày hẹn. Cơ quan giải quyết gửi phiếu xin lỗi và hẹn lại '
                "ngày trả kết quả.</p>")
    parts.append(f'<section class="card"><h1>Hồ sơ {e(view.code)}</h1>'
                 f'<p class="st {_status_class(view.status)}">{e(view.plain_status)}</p>{note}<dl>{dl}</dl>'
                 + (f"<p><small>{e(stale_note)}</small></p>" if stale_note else "") + "</section>")
    if view.status == "supplement_required" and view.missing_papers:
        items = "".join(f"<li>{e(p)}</li>" for p in view.missing_papers)
        parts.append(f'<section class="card"><h2>Giấy tờ cần bổ sung</h2><ul>{items}</ul></section>')
    if view.events:
        items = "".join(f"<li>{e(ev.title)}<small>{e(dossiers.vn_datetime(ev.at, tz))}"
                        + (f" · {e(ev.note)}" if ev.note else "") + "</small></li>" for ev in view.events)
        parts.append(f'<section class="card"><h2>Quá trình giải quyết</h2><ol>{items}</ol></section>')
    if tenant.file.features.ratings and view.status in ("resolved", "returned"):
        action = f"/t/{tenant.slug}/hs/{quote(view.code, safe='')}/danh-gia?t={token}"
        if ratings.editable(rating):
            parts.append(_rating_form(view, action, rating))
        else:
            parts.append('<section class="card"><h2>Đánh giá</h2><p>Cảm ơn ông/bà đã đánh giá: '
                         f"{e(ratings.LEVELS.get(rating.overall, ''))}.</p></section>")
    if tenant.file.zalo:
        parts.append('<section class="card"><h2>Nhận thông báo qua Zalo</h2><p>Mở trang Zalo của '
                     f"{e(tenant.file.zalo.oa_name)} và nhắn: <b>theo dõi {e(view.code)}</b>. Chúng tôi sẽ báo "
                     "ông/bà khi hồ sơ có kết quả.</p>"
                     f'<a class="btn alt" href="https://zalo.me/{e(tenant.file.zalo.oa_id)}">Mở trang Zalo</a></section>')
    return "".join(parts)


@get("/t/{tenant:str}/hs/{code:str}", operation_id="CitizenStatusPage", include_in_schema=False)
async def status_page(runtime: Runtime, tenant: str, code: str, t: str | None = None,
                      ok: str | None = None) -> Response[str]:
    cfg, key = await _context(runtime, tenant, code, t)
    if cfg is None:
        return not_available()
    if key is None:
        return not_available(cfg.file.name)
    async with runtime.db.tenant(tenant) as conn:
        view = await dossiers.find(conn, tenant, key, events=20)
    stale_note = ""
    # Ask the one-stop system live unless the dossier is closed or was heard of a minute ago:
    # a receipt's QR is scanned again and again, the system should not pay for each scan.
    fresh = view is not None and view.synced_at is not None and \
        (datetime.now(UTC) - view.synced_at).total_seconds() < FRESH_SECONDS
    if view is None or (not fresh and view.status not in ("returned", "withdrawn", "not_accepted", "stopped")):
        stale, as_of = await refresh_dossier(runtime, tenant, view.code if view else code)
        if stale and (as_of or view):
            stale_note = ("Hệ thống một cửa đang gián đoạn; thông tin cập nhật lúc "
                          f"{dossiers.vn_datetime(as_of or view.synced_at, cfg.file.timezone)}.")
        async with runtime.db.tenant(tenant) as conn:
            view = await dossiers.find(conn, tenant, key, events=20)
    if view is None:
        # The token is ours, so the code is real; the one-stop system has not shared it yet.
        body = ('<div class="card"><h1>Hồ sơ đang được cập nhật</h1><p>Hồ sơ vừa được tiếp nhận nên thông tin chưa '
                "kịp cập nhật. Xin ông/bà quay lại sau ít phút.</p></div>")
        return page("Đang cập nhật", cfg.file.name, body)
    async with runtime.db.tenant(tenant) as conn:
        rating = await ratings.find(conn, tenant, view.id, rater_for(t or ""))
    message = "Cảm ơn ông/bà đã đánh giá! Ý kiến của ông/bà đã được gửi đến cơ quan giải quyết." if ok else ""
    body = render_status(runtime, cfg, view, t or "", rating=rating, message=message, stale_note=stale_note)
    return page(f"Hồ sơ {view.code}", cfg.file.name, body)


@post("/t/{tenant:str}/hs/{code:str}/danh-gia", operation_id="CitizenRateDossier", include_in_schema=False,
      status_code=303)
async def rate_dossier(runtime: Runtime, tenant: str, code: str, request: Request,
                       data: dict[str, Any] = Body(media_type=RequestEncodingType.URL_ENCODED),
                       t: str | None = None) -> Response[str]:
    cfg, key = await _context(runtime, tenant, code, t)
    if cfg is None:
        return not_available()
    if key is None:
        return not_available(cfg.file.name)
    if not cfg.file.features.ratings:
        return page("Đánh giá", cfg.file.name, '<div class="card"><p>Tỉnh chưa mở đánh giá qua trang này.</p></div>',
                    status=404)
    form = {k: (v[0] if isinstance(v, list) else v) for k, v in data.items()}
    criteria = {k: form.get(k) for k, _, _ in ratings.CRITERIA}
    async with runtime.db.tenant(tenant) as conn:
        view = await dossiers.find(conn, tenant, key, events=20)
        if view is None:
            return not_available(cfg.file.name)
        try:
            await ratings.rate(conn, tenant, view.id, rater_for(t or ""), overall=form.get("overall"),
                               criteria=criteria, comment=form.get("comment"))
        except ratings.RatingError as exc:
            error = str(exc)
        else:
            url = f"/t/{tenant}/hs/{quote(view.code, safe='')}?t={t}&ok=1"
            return Response("", status_code=303, headers={"Location": url, **HEADERS})
    async with runtime.db.tenant(tenant) as conn:
        rating = await ratings.find(conn, tenant, view.id, rater_for(t or ""))
    body = render_status(runtime, cfg, view, t or "", rating=rating, error=error)
    return page(f"Hồ sơ {view.code}", cfg.file.name, body, status=400)
