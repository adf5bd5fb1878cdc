"""Back end for Zalo's official E-Government Mini App template (``Zalo-MiniApp/zaui-egovernment``),
so a province deploys that template unchanged with its base URL pointing at Motcua.

Same paths, parameters, headers, field names and envelope as the template's ``services.ts``:
every answer is ``{"err": 0, "message": ..., "data": ...}``; ``err = -115`` means "sign in
again" (the template then fetches a fresh Zalo token), ``-117`` the daily limit. The template
throws when ``data`` is missing, so successes always carry data.

Quirks honoured:

* its request helper resolves ``/get_organization_api`` and the others against the base URL's
  *origin*, so they live at the root path; its image upload instead *concatenates* the base URL
  and ``/upload_image_api``. Point the template's ``VITE_BASE_URL`` at
  ``https://<host>/miniapp/<tenant>``: the root paths find the tenant by header or host name, the
  upload finds it in the path. A bare origin works too (upload then finds the tenant by host).
* it sends ``pargeSize`` (sic), not ``pageSize``; article times are epoch milliseconds.
* the organisation is chosen by ``miniAppId`` (the tenant file's ``zalo.mini_app_id``); later
  calls send its ``id`` (the tenant slug) as ``x-organization-id``; the articles call sends no
  organisation at all, so the tenant is also found from the host name (``hosts`` in the file).
* the user's ``Authorization: Bearer <Zalo access token>`` is verified with Zalo's graph API
  (``{graph_url}/v2.0/me`` with ``appsecret_proof``) and cached for a few minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile

from motcua.crypto import get_secret
from motcua.domain.appointments import service as appointments
from motcua.domain.conversation import dossier as dossiers
from motcua.domain.conversation.service import refresh_dossier
from motcua.domain.news import service as news
from motcua.onestop.codes import normalize_code
from motcua.runtime import Runtime
from motcua.tenancy.schema import Tenant

log = logging.getLogger(__name__)

UNAUTHORIZED = -115
RATE_LIMITED = -117
BAD_REQUEST = -1
NOT_FOUND = -2
SEARCHES_PER_DAY = 30
FEEDBACK_PER_DAY = 5
MAX_IMAGE_BYTES = 5 * 1024 * 1024
TOKEN_CACHE_SECONDS = 300

# Feedback types the template lists (ids are what it sends back as ``feedbackTypeId``); the
# codes are the feedback service's categories, which the tenants' routing rules name.
FEEDBACK_TYPES: list[tuple[int, str, str]] = [
    (1, "Thủ tục hành chính", "thu-tuc-hanh-chinh"), (2, "Đất đai", "dat-dai"), (3, "Môi trường", "moi-truong"),
    (4, "Xây dựng, nhà ở", "xay-dung"), (5, "Giao thông", "giao-thong"), (6, "Y tế", "y-te"),
    (7, "Giáo dục", "giao-duc"), (8, "An ninh, trật tự", "an-ninh-trat-tu"), (9, "Khác", "khac"),
]
TYPE_BY_CODE = {code: (i, title) for i, title, code in FEEDBACK_TYPES}


class MiniAppError(Exception):
    def __init__(self, err: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.err, self.message, self.status = err, message, status


def ok(data: Any, message: str = "Thành công") -> Response[dict[str, Any]]:
    return Response({"err": 0, "message": message, "data": data}, headers={"Cache-Control": "no-store"})


def fail(exc: MiniAppError) -> Response[dict[str, Any]]:
    return Response({"err": exc.err, "message": exc.message, "data": None}, status_code=exc.status,
                    headers={"Cache-Control": "no-store"})


def envelope(handler):
    """Errors become the template's envelope instead of problem details."""
    import functools

    @functools.wraps(handler)
    async def wrapped(*args: Any, **kwargs: Any) -> Response[dict[str, Any]]:
        try:
            return await handler(*args, **kwargs)
        except MiniAppError as exc:
            return fail(exc)
    return wrapped


# --- tenant and user --------------------------------------------------------------------------

def _host(request: Request) -> str:
    return (request.headers.get("x-forwarded-host") or request.headers.get("host") or "").split(",")[0].split(":")[0]


async def tenant_from(runtime: Runtime, request: Request, *, slug: str | None = None,
                      mini_app_id: str | None = None) -> Tenant:
    """The tenant named by the path, the Mini App id, the ``x-organization-id`` header, or the
    host name the Mini App points at, in that order."""
    async with runtime.db.system() as conn:
        if not slug and mini_app_id:
            slug = await conn.fetchval("SELECT id FROM tenant WHERE active AND config->'zalo'->>'mini_app_id' = $1",
                                       mini_app_id)
        slug = slug or request.headers.get("x-organization-id") or None
        if not slug:
            slug = await conn.fetchval("SELECT id FROM tenant WHERE active AND $1 = ANY(hosts)", _host(request).lower())
    tenant = await runtime.tenant(slug) if slug else None
    if tenant is None:
        raise MiniAppError(NOT_FOUND, "Không tìm thấy đơn vị. Xin kiểm tra cấu hình Mini App.", 404)
    return tenant


@dataclass(frozen=True)
class MiniAppUser:
    id: str
    name: str | None


async def current_user(runtime: Runtime, tenant: Tenant, request: Request) -> MiniAppUser:
    """The Zalo user behind the Bearer token, verified with Zalo's graph API; fails closed."""
    auth = request.headers.get("authorization") or ""
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if not token:
        raise MiniAppError(UNAUTHORIZED, "Xin đăng nhập Zalo để tiếp tục.", 401)
    cache: dict[str, tuple[float, MiniAppUser]] = runtime.state.setdefault("miniapp.users", {})
    key = hashlib.sha256(f"{tenant.slug}:{token}".encode()).hexdigest()
    hit = cache.get(key)
    if hit and time.monotonic() - hit[0] < TOKEN_CACHE_SECONDS:
        return hit[1]
    async with runtime.db.tenant(tenant.slug) as conn:
        app_secret = await get_secret(conn, runtime.crypto, tenant.slug, "zalo.app_secret")
    if not app_secret:
        raise MiniAppError(BAD_REQUEST, "Tỉnh chưa cấu hình ứng dụng Zalo.", 503)
    proof = hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
    try:
        resp = await runtime.http.get(f"{runtime.settings.zalo.graph_url}/v2.0/me",
                                      params={"fields": "id,name,picture"},
                                      headers={"access_token": token, "appsecret_proof": proof}, timeout=5.0)
        body = resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("graph /me failed: %s", exc.__class__.__name__)
        raise MiniAppError(BAD_REQUEST, "Không xác thực được tài khoản Zalo lúc này, xin thử lại sau.", 503) from None
    if resp.status_code != 200 or not isinstance(body, dict) or body.get("error") or not body.get("id"):
        raise MiniAppError(UNAUTHORIZED, "Phiên đăng nhập đã hết hạn, xin thử lại.", 401)
    user = MiniAppUser(str(body["id"]), body.get("name"))
    if len(cache) > 10_000:
        cache.clear()
    cache[key] = (time.monotonic(), user)
    return user


async def _count(conn, tenant: str, user: str, action: str, limit: int) -> None:
    n = await conn.fetchval(
        """INSERT INTO miniapp_usage (tenant_id, zalo_id, day, action, count) VALUES ($1, $2, current_date, $3, 1)
           ON CONFLICT (tenant_id, zalo_id, day, action) DO UPDATE SET count = miniapp_usage.count + 1
           RETURNING count""", tenant, user, action)
    if n > limit:
        raise MiniAppError(RATE_LIMITED, "Bạn đã đạt giới hạn tìm kiếm trong ngày", 429)


def _page(value: Any, default: int, minimum: int) -> int:
    try:
        return max(minimum, int(value))
    except (TypeError, ValueError):
        return default


def _size(value: Any) -> int:
    try:
        return min(50, max(1, int(value)))
    except (TypeError, ValueError):
        return 10


def _ms(dt: datetime | None) -> int | None:
    return int(dt.timestamp() * 1000) if dt else None


def mask_name(name: str | None) -> str:
    """'Nguyễn Văn An' -> 'Nguyễn V. A.': enough for a receipt holder to recognise, not to identify."""
    words = (name or "").split()
    if not words:
        return ""
    return " ".join([words[0], *(w[0] + "." for w in words[1:])])


# --- organisation -----------------------------------------------------------------------------

@get("/get_organization_api", operation_id="MiniAppGetOrganization", tags=["mini-app"])
@envelope
async def get_organization(runtime: Runtime, request: Request, miniAppId: str | None = None) -> Response:  # noqa: N803
    tenant = await tenant_from(runtime, request, mini_app_id=miniAppId)
    f = tenant.file
    follow = False
    auth = request.headers.get("authorization")
    if auth and f.zalo:
        try:
            user = await current_user(runtime, tenant, request)
        except MiniAppError:
            user = None
        if user:
            async with runtime.db.tenant(tenant.slug) as conn:
                follow = bool(await conn.fetchval(
                    "SELECT following FROM citizen WHERE tenant_id = $1 AND oa_id = $2 AND zalo_user_id = $3",
                    tenant.slug, f.zalo.oa_id, user.id))
    oas = [{"oaId": f.zalo.oa_id, "name": f.zalo.oa_name, "logoUrl": None, "follow": follow}] if f.zalo else []
    return ok({"id": tenant.slug, "name": f.name, "logoUrl": None,
               "description": f"Dịch vụ công trực tuyến của {f.name} trên Zalo: tra cứu hồ sơ, phản ánh kiến nghị, "
                              "đặt lịch hẹn và tin tức.",
               "officialAccounts": oas})


# --- dossier search ---------------------------------------------------------------------------

@get("/search_profiles_api", operation_id="MiniAppSearchProfiles", tags=["mini-app"])
@envelope
async def search_profiles(runtime: Runtime, request: Request, profileCode: str = "",  # noqa: N803
                          organizationId: str | None = None) -> Response:  # noqa: N803
    tenant = await tenant_from(runtime, request, slug=organizationId or None)
    user = await current_user(runtime, tenant, request)
    key = normalize_code(profileCode)
    if len(key) < 8:
        raise MiniAppError(BAD_REQUEST, "Xin nhập mã hồ sơ in trên giấy tiếp nhận.")
    async with runtime.db.tenant(tenant.slug) as conn:
        await _count(conn, tenant.slug, user.id, "search", SEARCHES_PER_DAY)
    await refresh_dossier(runtime, tenant.slug, profileCode)
    async with runtime.db.tenant(tenant.slug) as conn:
        view = await dossiers.find(conn, tenant.slug, key, events=10)
    if view is None:
        return ok([], "Không tìm thấy thông tin")
    tz = tenant.file.timezone
    notes = [{"message": view.plain_status, "createdAt": _ms(view.synced_at)}]
    for ev in view.events:
        notes.append({"message": f"{dossiers.vn_date(ev.at, tz)}: {ev.title}" + (f" ({ev.note})" if ev.note else ""),
                      "createdAt": _ms(ev.at)})
    if view.status == "supplement_required" and view.missing_papers:
        notes.insert(1, {"message": "Giấy tờ cần bổ sung: " + "; ".join(view.missing_papers), "createdAt": None})
    link = dossiers.status_link(runtime, tenant.slug, view.code, view.code_key)
    notes.append({"message": f"Xem chi tiết và đánh giá: {link}", "createdAt": None})
    return ok([{"name": mask_name(view.applicant_name) or (view.procedure_name or ""),
                "profileCode": view.code, "dueDate": _ms(view.due_at), "procedureName": view.procedure_name,
                "status": view.short_status, "link": link, "notifications": notes}])


# --- articles and information guide -----------------------------------------------------------

@get("/get_articles_api", operation_id="MiniAppGetArticles", tags=["mini-app"])
@envelope
async def get_articles(runtime: Runtime, request: Request, page: str | None = None,
                       pargeSize: str | None = None, pageSize: str | None = None) -> Response:  # noqa: N803
    tenant = await tenant_from(runtime, request)
    current, size = _page(page, 1, 1), _size(pargeSize or pageSize)
    async with runtime.db.tenant(tenant.slug) as conn:
        items = await news.latest(conn, tenant.slug, limit=size, offset=(current - 1) * size)
        total = await news.count(conn, tenant.slug)
    return ok({"current": current, "pageSize": size, "total": total,
               "data": [{"id": str(a.id), "title": a.title, "desc": a.summary, "link": a.link, "thumb": a.image_url,
                         "createdAt": _ms(a.published_at)} for a in items]})


@get("/information_guide_api", operation_id="MiniAppInformationGuide", tags=["mini-app"])
@envelope
async def information_guide(runtime: Runtime, request: Request, page: str | None = None,
                            pargeSize: str | None = None, pageSize: str | None = None) -> Response:  # noqa: N803
    tenant = await tenant_from(runtime, request)
    current, size = _page(page, 0, 0), _size(pargeSize or pageSize)
    async with runtime.db.tenant(tenant.slug) as conn:
        rows, total = await news.faq_page(conn, tenant.slug, limit=size, offset=current * size)
    return ok({"current": current, "pageSize": size, "total": total,
               "data": [{"id": r["id"], "question": r["question"], "answer": r["answer"]} for r in rows]})


# --- feedback ---------------------------------------------------------------------------------

@get("/feedback_types_api", operation_id="MiniAppFeedbackTypes", tags=["mini-app"])
@envelope
async def feedback_types(runtime: Runtime, request: Request) -> Response:
    await tenant_from(runtime, request)
    return ok([{"id": i, "title": title, "order": i} for i, title, _ in FEEDBACK_TYPES])


@get("/feedback_api", operation_id="MiniAppListFeedback", tags=["mini-app"])
@envelope
async def list_feedback(runtime: Runtime, request: Request, page: str | None = None,
                        pargeSize: str | None = None, pageSize: str | None = None) -> Response:  # noqa: N803
    """Published, answered feedback of the province (the public page's content): no personal data."""
    tenant = await tenant_from(runtime, request)
    current, size = _page(page, 0, 0), _size(pargeSize or pageSize)
    domain = _image_domain(runtime, tenant.slug)
    async with runtime.db.tenant(tenant.slug) as conn:
        rows = await conn.fetch(
            """SELECT id, category, title, content, answer, answered_at, created_at, data,
                      to_jsonb(f) ->> 'public_text' AS public_text
               FROM feedback f WHERE tenant_id = $1 AND published AND answer IS NOT NULL
               ORDER BY coalesce(answered_at, created_at) DESC, id DESC LIMIT $2 OFFSET $3""",
            tenant.slug, size, current * size)
        total = await conn.fetchval("SELECT count(*) FROM feedback WHERE tenant_id = $1 AND published "
                                    "AND answer IS NOT NULL", tenant.slug)
    from motcua.domain.feedback.service import mask_personal_data

    data = []
    for r in rows:
        photos = (r["data"] or {}).get("photos") or []
        data.append({"id": r["id"], "title": mask_personal_data(r["title"]),
                     "content": r["public_text"] or mask_personal_data(r["content"]),
                     "response": r["answer"], "creationTime": _ms(r["created_at"]),
                     "responseTime": _ms(r["answered_at"]),
                     "type": TYPE_BY_CODE.get(r["category"], (0, r["category"]))[1],
                     "imageUrls": [p if p.startswith("http") else domain + p.rsplit("/", 1)[-1] for p in photos]})
    return ok({"current": current, "pageSize": size, "total": total, "data": data})


@post("/feedback_api", operation_id="MiniAppCreateFeedback", tags=["mini-app"], status_code=200)
@envelope
async def create_feedback(runtime: Runtime, request: Request, data: dict[str, Any]) -> Response:
    from motcua.domain.feedback.service import FeedbackError
    from motcua.domain.feedback.service import create_feedback as create

    tenant = await tenant_from(runtime, request, slug=str(data.get("organizationId") or "") or None)
    user = await current_user(runtime, tenant, request)
    try:
        type_id = int(data.get("feedbackTypeId"))
    except (TypeError, ValueError):
        raise MiniAppError(BAD_REQUEST, "Xin chọn lĩnh vực phản ánh.") from None
    category = next((code for i, _, code in FEEDBACK_TYPES if i == type_id), None)
    if category is None:
        raise MiniAppError(BAD_REQUEST, "Lĩnh vực phản ánh không hợp lệ.")
    names = [str(n) for n in (data.get("imageUrls") or []) if str(n).strip()]
    async with runtime.db.tenant(tenant.slug) as conn:
        known = {r["name"] for r in await conn.fetch(
            "SELECT name FROM miniapp_upload WHERE tenant_id = $1 AND name = ANY($2::text[])", tenant.slug, names)}
        if set(names) - known:
            raise MiniAppError(BAD_REQUEST, "Ảnh đính kèm không hợp lệ, xin tải lại ảnh.")
        await _count(conn, tenant.slug, user.id, "feedback", FEEDBACK_PER_DAY)
        try:
            await create(conn, tenant, category=category, title=str(data.get("title") or ""),
                         content=str(data.get("content") or ""), channel="miniapp",
                         photos=[f"/miniapp/{tenant.slug}/images/{n}" for n in names],
                         contact={"name": user.name or "", "zalo_id": user.id})
        except FeedbackError as exc:
            raise MiniAppError(BAD_REQUEST, str(exc)) from None
    return ok(True, "Đã gửi phản ánh. Cảm ơn ông/bà!")


# --- image upload -----------------------------------------------------------------------------

def _image_domain(runtime: Runtime, slug: str) -> str:
    return f"{runtime.settings.public_url}/miniapp/{slug}/images/"


def sniff_image(data: bytes) -> str | None:
    """The image type by content (magic bytes), never by the file name."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


async def _upload(runtime: Runtime, request: Request, slug: str | None) -> Response:
    tenant = await tenant_from(runtime, request, slug=slug)
    form = await request.form()
    files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
    if not files:
        raise MiniAppError(BAD_REQUEST, "Chưa có ảnh nào được gửi.")
    if len(files) > 5:
        raise MiniAppError(BAD_REQUEST, "Mỗi lần chỉ tải tối đa 5 ảnh.")
    stored: list[tuple[str, str, bytes]] = []
    for f in files:
        blob = await f.read(MAX_IMAGE_BYTES + 1)
        if len(blob) > MAX_IMAGE_BYTES:
            raise MiniAppError(BAD_REQUEST, "Ảnh lớn quá 5 MB, xin chọn ảnh nhỏ hơn.", 413)
        kind = sniff_image(blob)
        if kind is None:
            raise MiniAppError(BAD_REQUEST, "Tệp không phải ảnh JPEG, PNG hoặc WebP.", 415)
        ext = kind.split("/")[1].replace("jpeg", "jpg")
        stored.append((f"{secrets.token_urlsafe(18)}.{ext}", kind, blob))
    async with runtime.db.tenant(tenant.slug) as conn:
        for name, kind, blob in stored:
            await conn.execute("INSERT INTO miniapp_upload (tenant_id, name, content_type, data) VALUES ($1, $2, $3, $4)",
                               tenant.slug, name, kind, blob)
    return ok({"domain": _image_domain(runtime, tenant.slug), "images": [n for n, _, _ in stored]})


@post("/upload_image_api", operation_id="MiniAppUploadImage", tags=["mini-app"], status_code=200)
@envelope
async def upload_image(runtime: Runtime, request: Request) -> Response:
    return await _upload(runtime, request, None)


@post("/miniapp/{tenant:str}/upload_image_api", operation_id="MiniAppUploadImageForTenant", tags=["mini-app"],
      status_code=200)
@envelope
async def upload_image_for_tenant(runtime: Runtime, request: Request, tenant: str) -> Response:
    return await _upload(runtime, request, tenant)


@get("/miniapp/{tenant:str}/images/{name:str}", operation_id="MiniAppImage", include_in_schema=False)
async def image(runtime: Runtime, tenant: str, name: str) -> Response[bytes]:
    if await runtime.tenant(tenant) is None:
        return Response(b"", status_code=404)
    async with runtime.db.tenant(tenant) as conn:
        row = await conn.fetchrow("SELECT content_type, data FROM miniapp_upload WHERE tenant_id = $1 AND name = $2",
                                  tenant, name)
    if row is None:
        return Response(b"", status_code=404)
    return Response(bytes(row["data"]), media_type=row["content_type"],
                    headers={"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"})


# --- appointments -----------------------------------------------------------------------------

def _mdy(d: date) -> str:
    return d.strftime("%m-%d-%Y")


def _schedule(a: appointments.Appointment) -> dict[str, Any]:
    return {"fullName": a.full_name, "yourNumber": a.number, "currentNumber": a.current_number,
            "date": _mdy(a.service_date), "content": a.content, "phoneNumber": a.phone, "status": a.status,
            "rejectedInfo": a.rejected_info}


@get("/get_schedule_api", operation_id="MiniAppGetSchedule", tags=["mini-app"])
@envelope
async def get_schedule(runtime: Runtime, request: Request) -> Response:
    tenant = await tenant_from(runtime, request)
    user = await current_user(runtime, tenant, request)
    async with runtime.db.tenant(tenant.slug) as conn:
        a = await appointments.upcoming(conn, runtime.crypto, tenant.slug, user.id, tz=tenant.file.timezone)
    if a is None:
        # The template treats a missing ``data`` as "no appointment" (it shows the booking form).
        return fail(MiniAppError(NOT_FOUND, "Ông/bà chưa có lịch hẹn.", 200))
    return ok(_schedule(a))


@post("/create_schedule_api", operation_id="MiniAppCreateSchedule", tags=["mini-app"], status_code=200)
@envelope
async def create_schedule(runtime: Runtime, request: Request, data: dict[str, Any]) -> Response:
    tenant = await tenant_from(runtime, request)
    user = await current_user(runtime, tenant, request)
    try:
        service_date = datetime.strptime(str(data.get("date", "")), "%m-%d-%Y").date()
    except ValueError:
        raise MiniAppError(BAD_REQUEST, "Ngày hẹn không hợp lệ (tháng-ngày-năm).") from None
    try:
        async with runtime.db.tenant(tenant.slug) as conn:
            a, _ = await appointments.book(conn, runtime.crypto, tenant.slug, user.id, service_date=service_date,
                                           full_name=str(data.get("fullName") or ""),
                                           phone=str(data.get("phoneNumber") or ""),
                                           content=str(data.get("content") or ""), tz=tenant.file.timezone)
    except appointments.AppointmentError as exc:
        raise MiniAppError(BAD_REQUEST, str(exc)) from None
    return ok({**_schedule(a), "organizationId": tenant.slug}, "Đặt lịch hẹn thành công")


ROUTES = (get_organization, search_profiles, get_articles, information_guide, feedback_types, list_feedback,
          create_feedback, upload_image, upload_image_for_tenant, image, get_schedule, create_schedule)
