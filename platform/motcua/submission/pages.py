"""The citizen's pages for online submission, all under ``/t/{tenant}/nop/{procedure_code}``.

Every request carries the signed link's ``u`` (citizen id) and ``t`` (expiry + signature); no
cookie is needed, which keeps Zalo's in-app browser simple. The form is one multipart POST
endpoint whose pressed button (``action``) says what to do — save the draft, attach photos,
take a photo from the chat, remove one, or send — so it works without JavaScript; the small
script only makes it nicer (autosave, instant upload with the error next to the paper) and
asks for JSON by sending ``Accept: application/json``.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect

from motcua.domain.files.images import MAX_BYTES, ImageRefused
from motcua.domain.files.storage import NotFound as FileMissing
from motcua.domain.files.storage import StorageError, get_storage
from motcua.domain.postal import service as postal
from motcua.domain.submissions import forms, links, service
from motcua.domain.submissions.forms import FormDefinition
from motcua.onestop.contract import AdapterError, Capability
from motcua.runtime import Runtime

log = logging.getLogger(__name__)

WEB = Path(__file__).resolve().parent.parent / "web"
MAX_FORM_BYTES = 5 * MAX_BYTES + 1024 * 1024  # a no-JS post may carry several photos at once
CSP = ("default-src 'none'; img-src 'self' https: http: data: blob:; style-src 'unsafe-inline'; "
       "script-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Content-Type-Options": "nosniff"}


@lru_cache(maxsize=1)
def _templates():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(WEB / "templates")), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.globals["asset"] = _asset
    env.filters["vnd"] = postal.format_vnd
    return env


@lru_cache(maxsize=8)
def _asset(name: str) -> str:
    """Our small CSS/JS, inlined: one request per page on a slow phone."""
    return (WEB / "static" / name).read_text(encoding="utf-8")


def page(template: str, status: int = 200, **context: Any) -> Response[str]:
    html = _templates().get_template(f"submission/{template}").render(**context)
    return Response(html, status_code=status, media_type=MediaType.HTML, headers=HEADERS)


def problem(title: str, detail: str, status: int, *, json: bool) -> Response[Any]:
    if json:
        return Response({"ok": False, "title": title, "detail": detail}, status_code=status,
                        media_type="application/problem+json", headers=HEADERS)
    return page("message.html", status, title=title, detail=detail, tenant_name="")


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


class Gate:
    """The checks every request passes: tenant, feature switch, signed link."""

    def __init__(self, tenant_name: str, tz: str, citizen_id: int, token: str) -> None:
        self.tenant_name = tenant_name
        self.tz = tz
        self.citizen_id = citizen_id
        self.token = token


async def open_gate(runtime: Runtime, tenant: str, code: str, u: str | None, t: str | None, *, json: bool
                    ) -> Gate | Response[Any]:
    cfg = await runtime.tenant(tenant)
    if cfg is None or not cfg.file.features.online_submission:
        return problem("Không tìm thấy trang", "Tỉnh này chưa nhận hồ sơ trực tuyến qua Zalo.", 404, json=json)
    try:
        citizen_id = int(u or "")
    except ValueError:
        citizen_id = 0
    verdict = links.verify_form_token(runtime.crypto, tenant, code, citizen_id, t) if citizen_id else "invalid"
    if verdict == "expired":
        return problem("Liên kết đã hết hạn", "Vì an toàn, liên kết nộp hồ sơ chỉ dùng trong 7 ngày. Ông/bà vui lòng "
                       "mở lại biểu mẫu từ tin nhắn mới trong Zalo (nhắn \"nộp hồ sơ\").", 403, json=json)
    if verdict != "ok":
        return problem("Liên kết không hợp lệ", "Ông/bà vui lòng mở biểu mẫu bằng nút \"Nộp hồ sơ trực tuyến\" "
                       "trong tin nhắn Zalo của tỉnh.", 403, json=json)
    return Gate(cfg.file.name, cfg.file.timezone, citizen_id, t or "")


def _query(gate: Gate, **extra: Any) -> str:
    return urlencode({"u": gate.citizen_id, "t": gate.token, **extra})


def _form_url(tenant: str, code: str, gate: Gate, suffix: str = "", **extra: Any) -> str:
    return f"{links.form_path(tenant, code)}{suffix}?{_query(gate, **extra)}"


async def _load(conn, runtime: Runtime, tenant: str, code: str, *, json: bool) -> FormDefinition | Response[Any]:
    try:
        defn = await forms.load_form(conn, runtime, tenant, code)
    except forms.NotOnline as exc:
        return problem("Chưa nộp trực tuyến được", f"Thủ tục \"{exc.name}\" hiện chưa nhận hồ sơ trực tuyến. "
                       "Ông/bà vui lòng nộp tại Trung tâm Phục vụ hành chính công.", 404, json=json)
    except AdapterError:
        return problem("Tạm thời chưa mở được biểu mẫu", "Hệ thống một cửa của tỉnh đang gián đoạn. "
                       "Ông/bà vui lòng thử lại sau ít phút.", 503, json=json)
    if Capability.submission not in (await runtime.adapter(tenant)).capabilities:
        return problem("Chưa nộp trực tuyến được", "Hệ thống một cửa của tỉnh chưa nhận hồ sơ trực tuyến qua Zalo. "
                       "Ông/bà vui lòng nộp tại Trung tâm Phục vụ hành chính công.", 404, json=json)
    if defn is None:
        return problem("Không tìm thấy thủ tục", "Không tìm thấy thủ tục này trong danh mục của tỉnh. Ông/bà vui lòng "
                       "mở lại biểu mẫu từ tin nhắn Zalo.", 404, json=json)
    return defn


def _fmt_date(value: dt.datetime | None, tz: str) -> str:
    return value.astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y") if value else ""


async def _render_form(conn, runtime: Runtime, tenant: str, gate: Gate, defn: FormDefinition,
                       draft: service.Draft, *, errors: dict[str, str] | None = None,
                       paper_errors: dict[str, str] | None = None, notice: str | None = None,
                       status: int = 200) -> Response[str]:
    files = await service.list_files(conn, draft.id)
    chat = await service.chat_images(conn, gate.citizen_id)
    last = await service.last_submitted(conn, runtime.crypto, tenant, gate.citizen_id, defn.procedure_code)
    by_paper: dict[str, list[dict[str, Any]]] = {p.code: [] for p in defn.papers}
    for f in files:
        by_paper.setdefault(f.paper_code, []).append(
            {"id": f.id, "url": _form_url(tenant, defn.procedure_code, gate, f"/anh/{f.id}"),
             "source": f.source})
    return page("form.html", status, tenant=tenant, tenant_name=gate.tenant_name, defn=defn, draft=draft,
                values=draft.values, errors=errors or {}, paper_errors=paper_errors or {}, files=by_paper,
                chat=chat, notice=notice, last=last, last_due=_fmt_date(last.due_at, gate.tz) if last else "",
                last_link=links.status_link(runtime, tenant, last.dossier_code) if last and last.dossier_code else "",
                action=_form_url(tenant, defn.procedure_code, gate),
                result_url=_form_url(tenant, defn.procedure_code, gate, "/ket-qua", s=draft.id),
                max_mb=MAX_BYTES // 1048576)


@get("/t/{tenant:str}/nop/{code:str}", operation_id="OpenSubmissionForm", include_in_schema=False)
async def open_form(tenant: str, code: str, runtime: Runtime, u: str | None = None, t: str | None = None
                    ) -> Response[Any]:
    """The form, resuming the citizen's draft (or showing where the sent one stands)."""
    gate = await open_gate(runtime, tenant, code, u, t, json=False)
    if isinstance(gate, Response):
        return gate
    async with runtime.db.tenant(tenant) as conn:
        if not await service.citizen_exists(conn, gate.citizen_id):
            return problem("Liên kết không hợp lệ", "Không tìm thấy tài khoản Zalo gắn với liên kết này.", 404, json=False)
        defn = await _load(conn, runtime, tenant, code, json=False)
        if isinstance(defn, Response):
            return defn
        draft = await service.open_draft(conn, runtime.crypto, tenant, gate.citizen_id, defn)
        if draft.status in ("queued", "waiting"):
            return Redirect(_form_url(tenant, code, gate, "/ket-qua", s=draft.id), status_code=303)
        return await _render_form(conn, runtime, tenant, gate, defn, draft,
                                  notice=draft.last_error and f"Hồ sơ chưa gửi được: {draft.last_error}")


def _uploads(form: Any) -> list[tuple[str, UploadFile]]:
    out = []
    for key, value in form.multi_items():
        if key.startswith("file:") and isinstance(value, UploadFile) and value.filename:
            out.append((key[5:], value))
    return out


@post("/t/{tenant:str}/nop/{code:str}", operation_id="PostSubmissionForm", include_in_schema=False,
      request_max_body_size=MAX_FORM_BYTES)
async def post_form(tenant: str, code: str, request: Request, runtime: Runtime, u: str | None = None,
                    t: str | None = None) -> Response[Any]:
    """Save the draft, attach or remove photos, or send (``action`` = save | submit | chat:<paper>:<ref> | delete:<id>)."""
    as_json = wants_json(request)
    gate = await open_gate(runtime, tenant, code, u, t, json=as_json)
    if isinstance(gate, Response):
        return gate
    form = await request.form()
    action = str(form.get("action") or "save")
    try:
        draft_id = int(str(form.get("draft_id") or "0"))
    except ValueError:
        draft_id = 0
    # Read and check the photos before opening a transaction: a slow upload or a large decode
    # must not hold a database connection (or the draft's row lock).
    uploads: list[tuple[str, Any]] = []
    for paper, up in _uploads(form):
        try:
            data = await up.read(MAX_BYTES + 1)
            uploads.append((paper, await service.check_image(runtime, data, filename=up.filename,
                                                             content_type=up.content_type)))
        except ImageRefused as exc:
            uploads.append((paper, exc))
    chat_pick: tuple[str, Any, str] | None = None  # (paper, image or refusal, ref)
    if action.startswith("chat:"):
        _, paper, ref = (action.split(":", 2) + ["", ""])[:3]
        async with runtime.db.tenant(tenant) as conn:
            picked = await service.chat_image(conn, gate.citizen_id, ref)
        if picked is None:
            chat_pick = (paper, ImageRefused("Không tìm thấy ảnh này trong cuộc trò chuyện."), ref)
        else:
            try:
                data = await service.download_image(runtime.http, picked.url)
                chat_pick = (paper, await service.check_image(runtime, data, filename=None, content_type=None), ref)
            except ImageRefused as exc:
                chat_pick = (paper, exc, ref)
    submitted = False
    async with runtime.db.tenant(tenant) as conn:
        defn = await _load(conn, runtime, tenant, code, json=as_json)
        if isinstance(defn, Response):
            return defn
        draft = await service.get_submission(conn, runtime.crypto, tenant, draft_id) if draft_id else None
        if draft is None or draft.citizen_id != gate.citizen_id or draft.procedure_code != defn.procedure_code:
            if not await service.citizen_exists(conn, gate.citizen_id):
                return problem("Liên kết không hợp lệ", "Không tìm thấy tài khoản Zalo gắn với liên kết này.", 404,
                               json=as_json)
            draft = await service.open_draft(conn, runtime.crypto, tenant, gate.citizen_id, defn)
        # Taps on "Gửi hồ sơ" arriving together take turns here; the later ones then see it queued.
        draft = await service.get_submission(conn, runtime.crypto, tenant, draft.id, lock=True)
        if draft.status != "draft":
            # Already sent (a double tap, a retried request, the back button): show where it stands.
            url = _form_url(tenant, code, gate, "/ket-qua", s=draft.id)
            if as_json:
                return Response({"ok": True, "redirect": url, "status": draft.status}, headers=HEADERS)
            return Redirect(url, status_code=303)
        values = {f.name: str(form.get(f.name)) for f in defn.fields if form.get(f.name) is not None}
        clean, errors = forms.validate(defn, values, partial=True)
        # Keep what was typed even where it is not valid yet: the citizen fixes it later.
        await service.save_values(conn, runtime.crypto, tenant, draft,
                                  {k: clean[k] if k not in errors else values[k] for k in values})
        paper_errors: dict[str, str] = {}
        added: list[int] = []
        for paper, image in uploads:
            if defn.paper(paper) is None:
                paper_errors[paper] = "Loại giấy tờ không có trong hồ sơ này."
                continue
            if isinstance(image, ImageRefused):
                paper_errors[paper] = str(image)
                continue
            try:
                added.append(await service.add_file(conn, runtime, tenant, draft, paper, image, source="upload"))
            except ImageRefused as exc:
                paper_errors[paper] = str(exc)
            except StorageError:
                paper_errors[paper] = "Chưa lưu được ảnh do sự cố lưu trữ. Ông/bà vui lòng thử lại sau ít phút."
        if chat_pick is not None:
            paper, image, ref = chat_pick
            if defn.paper(paper) is None:
                paper_errors[paper] = "Không tìm thấy loại giấy tờ này trong hồ sơ."
            elif isinstance(image, ImageRefused):
                paper_errors[paper] = str(image)
            else:
                try:
                    added.append(await service.add_file(conn, runtime, tenant, draft, paper, image, source="chat",
                                                        source_ref=ref))
                except ImageRefused as exc:
                    paper_errors[paper] = str(exc)
                except StorageError:
                    paper_errors[paper] = "Chưa lưu được ảnh do sự cố lưu trữ. Ông/bà vui lòng thử lại sau ít phút."
        elif action.startswith("delete:"):
            try:
                await service.remove_file(conn, runtime, draft, int(action.split(":", 1)[1]))
            except ValueError:
                pass
        if action == "submit" and not paper_errors:
            full, errors = forms.validate(defn, {**draft.values, **values})
            counts: dict[str, int] = {}
            for f in await service.list_files(conn, draft.id):
                counts[f.paper_code] = counts.get(f.paper_code, 0) + 1
            paper_errors = forms.paper_errors(defn, counts)
            if not errors and not paper_errors:
                submitted = await service.queue_submission(conn, runtime.crypto, tenant, draft, full)
        if not submitted:
            status = 422 if (errors or paper_errors) else 200
            if as_json:
                files = [{"id": f.id, "paper": f.paper_code, "source": f.source,
                          "url": _form_url(tenant, code, gate, f"/anh/{f.id}")}
                         for f in await service.list_files(conn, draft.id)]
                return Response({"ok": status == 200, "draft_id": draft.id, "errors": errors,
                                 "paper_errors": paper_errors, "files": files, "added": added},
                                status_code=status, headers=HEADERS)
            notice = "Đã lưu bản nháp." if status == 200 and action == "save" else None
            if status == 422 and action == "submit":
                notice = "Hồ sơ chưa đủ. Ông/bà vui lòng xem các ô được đánh dấu bên dưới."
            return await _render_form(conn, runtime, tenant, gate, defn, draft, errors=errors,
                                      paper_errors=paper_errors, notice=notice, status=status)
    # Committed as 'queued' with its safety job; now try at once so the citizen sees the receipt.
    try:
        async with runtime.db.tenant(tenant) as conn:
            await service.send_submission(conn, runtime, tenant, draft.id)
    except Exception:  # noqa: BLE001 - the safety job sends it; the result page says it is on its way
        log.exception("inline send of submission %s/%s failed; the job will retry", tenant, draft.id)
    url = _form_url(tenant, code, gate, "/ket-qua", s=draft.id)
    if as_json:
        return Response({"ok": True, "redirect": url}, headers=HEADERS)
    return Redirect(url, status_code=303)


@get("/t/{tenant:str}/nop/{code:str}/ket-qua", operation_id="SubmissionResult", include_in_schema=False)
async def result_page(tenant: str, code: str, runtime: Runtime, u: str | None = None, t: str | None = None,
                      s: int = 0) -> Response[Any]:
    """Where a sent submission stands: the receipt, 'waiting', or why it was refused."""
    gate = await open_gate(runtime, tenant, code, u, t, json=False)
    if isinstance(gate, Response):
        return gate
    async with runtime.db.tenant(tenant) as conn:
        draft = await service.get_submission(conn, runtime.crypto, tenant, s)
        if draft is None or draft.citizen_id != gate.citizen_id:
            return problem("Không tìm thấy hồ sơ", "Không tìm thấy hồ sơ này. Ông/bà vui lòng mở lại từ Zalo.", 404,
                           json=False)
        request = await postal.get_request(conn, runtime.crypto, tenant, draft.dossier_id) if draft.dossier_id else None
    if draft.status == "draft":
        return Redirect(_form_url(tenant, code, gate), status_code=303)
    return page("result.html", tenant_name=gate.tenant_name, draft=draft, due=_fmt_date(draft.due_at, gate.tz),
                waiting_text=service.WAITING_TEXT, postal=request,
                receipt_link=links.status_link(runtime, tenant, draft.dossier_code) if draft.dossier_code else "",
                postal_url=_form_url(tenant, code, gate, "/buu-dien", s=draft.id),
                refresh_url=_form_url(tenant, code, gate, "/ket-qua", s=draft.id))


@get("/t/{tenant:str}/nop/{code:str}/anh/{file_id:int}", operation_id="SubmissionFile", include_in_schema=False)
async def serve_file(tenant: str, code: str, file_id: int, runtime: Runtime, u: str | None = None,
                     t: str | None = None) -> Response[Any]:
    """A photo the citizen attached, to that citizen only."""
    gate = await open_gate(runtime, tenant, code, u, t, json=False)
    if isinstance(gate, Response):
        return gate
    async with runtime.db.tenant(tenant) as conn:
        row = await conn.fetchrow(
            """SELECT f.storage_key, f.content_type FROM submission_file f
               JOIN submission s ON s.tenant_id = f.tenant_id AND s.id = f.submission_id
               WHERE f.tenant_id = motcua_tenant() AND f.id = $1 AND s.citizen_id = $2""", file_id, gate.citizen_id)
    if row is None:
        return problem("Không tìm thấy ảnh", "Không tìm thấy ảnh này.", 404, json=False)
    return await _file_response(runtime, row["storage_key"], row["content_type"], file_id)


@get("/t/{tenant:str}/tep/{file_id:int}", operation_id="OfficerSubmissionFile", include_in_schema=False)
async def officer_file(tenant: str, file_id: int, runtime: Runtime, e: str | None = None, t: str | None = None
                       ) -> Response[Any]:
    """A submitted photo through a short-lived link a staff page made (``links.officer_file_link``)."""
    if not links.verify_officer_file(runtime.crypto, tenant, file_id, e, t):
        return problem("Liên kết không hợp lệ", "Liên kết xem giấy tờ đã hết hạn. Vui lòng mở lại hồ sơ.", 403, json=False)
    async with runtime.db.tenant(tenant) as conn:
        row = await conn.fetchrow("SELECT storage_key, content_type FROM submission_file "
                                  "WHERE tenant_id = motcua_tenant() AND id = $1", file_id)
    if row is None:
        return problem("Không tìm thấy ảnh", "Không tìm thấy ảnh này.", 404, json=False)
    return await _file_response(runtime, row["storage_key"], row["content_type"], file_id)


async def _file_response(runtime: Runtime, key: str, content_type: str, file_id: int) -> Response[Any]:
    try:
        data = await get_storage(runtime).get(key)
    except FileMissing:
        return problem("Không tìm thấy ảnh", "Không tìm thấy ảnh này.", 404, json=False)
    return Response(data, media_type=content_type,
                    headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff",
                             "Content-Disposition": f'inline; filename="giay-to-{file_id}.jpg"'})


class PostalTarget:
    """The dossier a postal request is for, and where the pages link."""

    def __init__(self, *, dossier_id: int, dossier_code: str, citizen_id: int | None, prefill: dict[str, str],
                 action: str, back_url: str) -> None:
        self.dossier_id = dossier_id
        self.dossier_code = dossier_code
        self.citizen_id = citizen_id
        self.prefill = prefill
        self.action = action
        self.back_url = back_url


async def _target_from_submission(conn, runtime: Runtime, tenant: str, gate: Gate, code: str, s: int
                                  ) -> PostalTarget | None:
    draft = await service.get_submission(conn, runtime.crypto, tenant, s)
    if draft is None or draft.citizen_id != gate.citizen_id or draft.status != "submitted" or not draft.dossier_id:
        return None
    return PostalTarget(dossier_id=draft.dossier_id, dossier_code=draft.dossier_code or "", citizen_id=gate.citizen_id,
                        prefill={"name": draft.values.get("applicant_name", ""),
                                 "phone": draft.values.get("applicant_phone", "")},
                        action=_form_url(tenant, code, gate, "/buu-dien", s=draft.id),
                        back_url=_form_url(tenant, code, gate, "/ket-qua", s=draft.id))


async def _target_from_receipt(conn, runtime: Runtime, tenant: str, code: str, t: str | None) -> PostalTarget | None:
    """Any dossier, for whoever holds its receipt (the status page's token): also in-person ones."""
    from motcua.onestop.codes import normalize_code

    key = normalize_code(code)
    if not t or not runtime.crypto.verify(f"{tenant}:{key}", t):
        return None
    row = await conn.fetchrow("SELECT d.id, d.code, s.citizen_id FROM dossier d LEFT JOIN submission s "
                              "ON s.tenant_id = d.tenant_id AND s.dossier_id = d.id "
                              "WHERE d.tenant_id = motcua_tenant() AND d.code_key = $1", key)
    if row is None:
        return None
    quoted = quote(code, safe="")
    return PostalTarget(dossier_id=row["id"], dossier_code=row["code"], citizen_id=row["citizen_id"], prefill={},
                        action=f"/t/{tenant}/buu-dien/{quoted}?{urlencode({'t': t})}",
                        back_url=f"/t/{tenant}/hs/{quoted}?{urlencode({'t': t})}")


NOT_YET = ("Chưa thể đăng ký", "Không tìm thấy hồ sơ, hoặc hồ sơ chưa được gửi thành công. Ông/bà vui lòng mở lại "
           "từ biên nhận hoặc tin nhắn Zalo.")


def _postal_page(cfg, tenant_name: str, target: PostalTarget, existing, *, values, errors=None, status=200):
    return page("postal.html", status, tenant_name=tenant_name, dossier_code=target.dossier_code, existing=existing,
                province=postal.province_name(cfg.file.stat_code) or cfg.file.name,
                wards=postal.wards_of(cfg.file.stat_code), fee=postal.fee_for(""), values=values, errors=errors or {},
                action=target.action, back_url=target.back_url)


async def _postal_get(runtime: Runtime, tenant: str, find) -> Response[Any]:
    cfg = await runtime.tenant(tenant)
    if cfg is None or not cfg.file.features.postal:
        return problem("Chưa hỗ trợ", "Tỉnh chưa nhận yêu cầu trả kết quả qua bưu điện trên Zalo.", 404, json=False)
    async with runtime.db.tenant(tenant) as conn:
        target = await find(conn)
        if target is None:
            return problem(*NOT_YET, 404, json=False)
        existing = await postal.get_request(conn, runtime.crypto, tenant, target.dossier_id)
    return _postal_page(cfg, cfg.file.name, target, existing, values=target.prefill)


async def _postal_post(runtime: Runtime, tenant: str, request: Request, find) -> Response[Any]:
    cfg = await runtime.tenant(tenant)
    if cfg is None or not cfg.file.features.postal:
        return problem("Chưa hỗ trợ", "Tỉnh chưa nhận yêu cầu trả kết quả qua bưu điện trên Zalo.", 404, json=False)
    form = await request.form()
    values = {k: forms._clean_text(form.get(k)) for k in ("name", "phone", "ward", "street", "agree")}
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = "Vui lòng nhập họ tên người nhận."
    elif len(values["name"]) > 100:
        errors["name"] = "Họ tên quá dài (tối đa 100 ký tự)."
    phone = forms.normalize_vn_phone(values["phone"])
    if not phone:
        errors["phone"] = "Số điện thoại chưa đúng (10 chữ số, ví dụ 0912 345 678)."
    ward = next((w for w in postal.wards_of(cfg.file.stat_code) if w.code == values["ward"]), None)
    if ward is None:
        errors["ward"] = "Vui lòng chọn xã, phường nơi nhận."
    if len(values["street"]) < 3:
        errors["street"] = "Vui lòng nhập số nhà, đường, ấp/khóm."
    elif len(values["street"]) > 300:
        errors["street"] = "Địa chỉ quá dài (tối đa 300 ký tự)."
    if not values["agree"]:
        errors["agree"] = "Vui lòng xác nhận đồng ý mức phí."
    async with runtime.db.tenant(tenant) as conn:
        target = await find(conn)
        if target is None:
            return problem(*NOT_YET, 404, json=False)
        if errors:
            existing = await postal.get_request(conn, runtime.crypto, tenant, target.dossier_id)
            return _postal_page(cfg, cfg.file.name, target, existing, values=values, errors=errors, status=422)
        await postal.create_request(conn, runtime, tenant, dossier_id=target.dossier_id, citizen_id=target.citizen_id,
                                    stat_code=cfg.file.stat_code, ward=ward, receiver_name=values["name"],
                                    phone=phone, street=values["street"], fee=postal.fee_for(ward.code))
    return Redirect(target.back_url, status_code=303)


@get("/t/{tenant:str}/nop/{code:str}/buu-dien", operation_id="PostalForm", include_in_schema=False)
async def postal_form(tenant: str, code: str, runtime: Runtime, u: str | None = None, t: str | None = None,
                      s: int = 0) -> Response[Any]:
    """Ask for the result of a dossier just submitted online by post: address (a commune of the
    province), phone, and the fee shown before confirming."""
    gate = await open_gate(runtime, tenant, code, u, t, json=False)
    if isinstance(gate, Response):
        return gate
    return await _postal_get(runtime, tenant, lambda conn: _target_from_submission(conn, runtime, tenant, gate, code, s))


@post("/t/{tenant:str}/nop/{code:str}/buu-dien", operation_id="RequestPostal", include_in_schema=False)
async def postal_submit(tenant: str, code: str, request: Request, runtime: Runtime, u: str | None = None,
                        t: str | None = None, s: int = 0) -> Response[Any]:
    gate = await open_gate(runtime, tenant, code, u, t, json=False)
    if isinstance(gate, Response):
        return gate
    return await _postal_post(runtime, tenant, request,
                              lambda conn: _target_from_submission(conn, runtime, tenant, gate, code, s))


@get("/t/{tenant:str}/buu-dien/{code:str}", operation_id="PostalFormByReceipt", include_in_schema=False)
async def postal_form_by_receipt(tenant: str, code: str, runtime: Runtime, t: str | None = None) -> Response[Any]:
    """The same for any dossier, opened from its status page (the receipt's token ``t``)."""
    return await _postal_get(runtime, tenant, lambda conn: _target_from_receipt(conn, runtime, tenant, code, t))


@post("/t/{tenant:str}/buu-dien/{code:str}", operation_id="RequestPostalByReceipt", include_in_schema=False)
async def postal_submit_by_receipt(tenant: str, code: str, request: Request, runtime: Runtime,
                                   t: str | None = None) -> Response[Any]:
    return await _postal_post(runtime, tenant, request,
                              lambda conn: _target_from_receipt(conn, runtime, tenant, code, t))


def postal_link(runtime: Runtime, tenant: str, code: str) -> str:
    """The postal page of a dossier for its receipt holder (the status page can link here)."""
    from motcua.onestop.codes import normalize_code

    token = links.status_token(runtime.crypto, tenant, normalize_code(code))
    return f"{runtime.settings.public_url}/t/{tenant}/buu-dien/{quote(code, safe='')}?{urlencode({'t': token})}"


ROUTES = [open_form, post_form, result_page, serve_file, officer_file, postal_form, postal_submit,
          postal_form_by_receipt, postal_submit_by_receipt]
