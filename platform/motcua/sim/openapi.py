"""The fake of Zalo's APIs that Motcua calls: OA Open API (openapi.zalo.me), ZNS
(business.openapi.zalo.me) and the graph API (graph.zalo.me), mounted under ``/sim`` with the
production paths after the host.

It answers like Zalo: HTTP 200 with ``{"error": <negative int>, "message": ...}`` on failure,
``{"data": ..., "error": 0, "message": "Success"}`` on success, the ``access_token`` header
(never ``Authorization``), ``?data=<json>`` on GETs, ids as strings. It enforces token
validity (-216 invalid, -220 expired; ZNS -124), the 7-day consultation window (-230/-232),
following (-213), text length, per-app rate limits (-32) and ZNS quota. Codes the reference
does not pin down are marked UNCONFIRMED where chosen.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Any

from litestar import Request, Response, get, post, route
from litestar.enums import MediaType

from motcua.crypto import normalize_phone
from motcua.runtime import Runtime
from motcua.sim import webhooks
from motcua.sim.state import (OA, WINDOW_FREE_SECONDS, WINDOW_SECONDS, SimState, User, get_state, msg_id,
                              now_ms)

VN = timezone(timedelta(hours=7))
CS_TEXT_MAX = 2000  # zalo.md §1.3
MAX_BUTTONS = 5  # the official PHP builder's MAX_ELEMENT
ACTIONS = {"oa.open.url", "oa.query.show", "oa.query.hide", "oa.open.phone", "oa.open.sms"}
ZNS_PARAM_MAX = 400  # a paragraph's limit (§4.5); templates' own maxLength are not known here
PHONE_RE = re.compile(r"^84(3|5|7|8|9)\d{8}$")
IMAGE_MAX = 1_000_000
FILE_MAX = 5_000_000
ATTACHMENT_SECONDS = 7 * 86_400  # uploads expire after 7 days (§1.6, UNCONFIRMED)


def zalo(data: Any = None, *, error: int = 0, message: str = "Success", headers: dict[str, str] | None = None,
         status: int = 200) -> Response[Any]:
    body: dict[str, Any] = {"error": error, "message": message}
    if error == 0 and data is not None:
        body = {"data": data, **body}
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def nfc_len(text: str) -> int:
    """Vietnamese typed in NFD counts longer; Zalo counts what it stores (§9: normalise to NFC)."""
    return len(unicodedata.normalize("NFC", text))


async def json_body(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def query_data(request: Request) -> dict[str, Any]:
    """GET parameters travel as one ``data`` query parameter holding JSON (§1.1)."""
    raw = request.query_params.get("data")
    if raw:
        try:
            value = json.loads(raw)
            if isinstance(value, dict):
                return value
        except ValueError:
            pass
    return {k: v for k, v in request.query_params.items() if k != "data"}


def sim_path(request: Request) -> str:
    path = request.url.path
    return path[len("/sim"):] if path.startswith("/sim/") else path


class Call:
    """One authenticated call: the simulator, the OA the token belongs to, headers to echo."""

    def __init__(self, sim: SimState, oa: OA, headers: dict[str, str]) -> None:
        self.sim, self.oa, self.headers = sim, oa, headers

    def ok(self, data: Any = None) -> Response[Any]:
        return zalo(data, headers=self.headers)

    def error(self, code: int, message: str) -> Response[Any]:
        stats = self.sim.stats_for(self.oa.oa_id)
        stats.rejected[str(code)] = stats.rejected.get(str(code), 0) + 1
        return zalo(error=code, message=message, headers=self.headers)


async def injected_fault(sim: SimState, request: Request, oa_id: str | None, family: str) -> Response[Any] | None:
    """What ``POST /sim/api/faults`` switched on, if it applies to this call."""
    fault = sim.fault
    if not fault.matches(sim_path(request), oa_id):
        return None
    if fault.mode == "quota" and family == "oauth":
        return None
    fault.consume()
    if fault.mode == "timeout":
        await asyncio.sleep(fault.delay)
        return Response("upstream request timeout", status_code=504, media_type=MediaType.TEXT)
    if fault.mode == "5xx":
        return Response("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
                        "</h1></center></body></html>", status_code=502, media_type=MediaType.HTML)
    if fault.mode == "rate_limit":
        return zalo(error=-32, message="Your application reached limit call api",
                    headers={"X-RateLimit-Limit": "4000", "X-RateLimit-Remain": "0"})
    if fault.mode == "quota":
        if family == "zns":
            return zalo(error=-144, message="OA has reached the daily quota of sending messages")
        return zalo(error=-211, message="Out of quota")
    return None


async def authenticate(request: Request, runtime: Runtime, family: str = "oa") -> Call | Response[Any]:
    """Token, fault switch, rate limit and appsecret_proof, in the order Zalo's front checks them."""
    sim = get_state(runtime)
    await sim.load(runtime)
    oa, problem = sim.check_access(request.headers.get("access_token"))
    fault = await injected_fault(sim, request, oa.oa_id if oa else None, family)
    if fault is not None:
        return fault
    if oa is None or problem is not None:
        if oa is not None:  # an expired token still says whose it was
            code = "-124" if family == "zns" else "-220"
            rejected = sim.stats_for(oa.oa_id).rejected
            rejected[code] = rejected.get(code, 0) + 1
        if family == "zns":
            return zalo(error=-124, message="Access token is invalid" if problem == "invalid"
                        else "Access token is expired or invalid")
        if problem == "expired":
            return zalo(error=-220, message="access_token is expired or removed")
        return zalo(error=-216, message="Access token is invalid")
    sim.stats_for(oa.oa_id).api_calls += 1
    allowed, remain = oa.rate_check()
    headers = {"X-RateLimit-Limit": str(oa.rate_limit_per_minute), "X-RateLimit-Remain": str(remain)}
    if not allowed:
        return zalo(error=-32, message="Your application reached limit call api", headers=headers)
    proof = request.headers.get("appsecret_proof")
    if proof is not None or oa.require_appsecret_proof:
        expected = hmac.new((oa.app_secret or "").encode(), request.headers["access_token"].encode(),
                            hashlib.sha256).hexdigest()
        if not proof or not hmac.compare_digest(proof.lower(), expected):
            code = -1241 if family == "zns" else -242
            return zalo(error=code, message="Invalid appsecret_proof provided in the API argument", headers=headers)
    return Call(sim, oa, headers)


# ---- consultation messages -----------------------------------------------------------------


def window_problem(user: User) -> tuple[int, str] | None:
    """Consultation messages need an interaction in the last 7 days (§1.5)."""
    if not user.follows and user.unfollowed_at and (user.last_message_at or 0) < user.unfollowed_at:
        return -213, "User has not followed OA"
    if user.last_interaction is None:
        return -232, "User has not interacted with the OA, or the last interaction has expired"
    if now_ms() - user.last_interaction > WINDOW_SECONDS * 1000:
        return -230, "User has not interacted with the OA in the past 7 days"
    return None


def parse_buttons(raw: Any) -> list[dict[str, Any]] | str:
    if raw is None:
        return []
    if not isinstance(raw, list) or not raw:
        return "buttons is invalid!"
    if len(raw) > MAX_BUTTONS:
        return "buttons exceeds allowable limit"
    out = []
    for b in raw:
        if not isinstance(b, dict) or b.get("type") not in ACTIONS or not str(b.get("title") or "").strip():
            return "button is invalid!"
        out.append({"title": str(b["title"]), "type": b["type"], "payload": b.get("payload")})
    return out


def parse_cs_message(sim: SimState, oa: OA, message: dict[str, Any], base_url: str) -> dict[str, Any] | tuple[int, str]:
    """The message object of a CS send, checked; returns what the phone shows, or an error."""
    text = message.get("text")
    if text is not None and not isinstance(text, str):
        return -201, "text is invalid!"
    if text and nfc_len(text) > CS_TEXT_MAX:
        return -210, "Parameter exceeds allowable limit"  # code for over-long text: UNCONFIRMED
    shown: dict[str, Any] = {"kind": "text", "text": text or ""}
    attachment = message.get("attachment")
    if attachment is None:
        if not text or not text.strip():
            return -201, "message is invalid!"
        return shown
    if not isinstance(attachment, dict):
        return -201, "attachment is invalid!"
    payload = attachment.get("payload") or {}
    if attachment.get("type") == "file":
        tok = payload.get("token") if isinstance(payload, dict) else None
        found = sim.attachments.get(str(tok)) if tok else None
        if found is None or found[0] != oa.oa_id:
            return -201, "token is invalid!"
        if time.time() > found[2]:
            return -100, "attachment_id was expired"
        return {**shown, "kind": "file", "url": f"{base_url}/sim/media/{found[1]}"}
    if attachment.get("type") != "template" or not isinstance(payload, dict):
        return -233, "message type is invalid or not support"
    template_type = payload.get("template_type")
    if template_type == "media":
        elements = payload.get("elements")
        if not isinstance(elements, list) or len(elements) != 1 or not isinstance(elements[0], dict):
            return -201, "elements is invalid!"
        el = elements[0]
        if el.get("media_type") not in {"image", "sticker", "gif"}:
            return -201, "media_type is invalid!"
        url = el.get("url")
        if el.get("attachment_id"):
            found = sim.attachments.get(str(el["attachment_id"]))
            if found is None or found[0] != oa.oa_id:
                return -201, "attachment_id is invalid!"
            if time.time() > found[2]:
                return -100, "attachment_id was expired"
            url = f"{base_url}/sim/media/{found[1]}"
        elif el.get("media_type") == "sticker" or not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return -201, "url is invalid!"
        return {**shown, "kind": "sticker" if el["media_type"] == "sticker" else "image", "image_url": url}
    if template_type == "request_user_info":
        # One element (§1.3: sources conflict on 1 vs 5; Zalo's own SPEC says at most 1).
        elements = payload.get("elements")
        if not isinstance(elements, list) or len(elements) != 1 or not isinstance(elements[0], dict) \
                or not elements[0].get("title"):
            return -201, "elements is invalid!"
        el = elements[0]
        return {**shown, "kind": "request_user_info", "title": str(el["title"]),
                "subtitle": str(el.get("subtitle") or ""), "image_url": el.get("image_url")}
    if template_type == "list":
        # Whether v3 CS accepts the list template is UNCONFIRMED (§1.4); accepted here so that
        # buttons can be tried in the phone page, with the builder's limits.
        elements = payload.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= MAX_BUTTONS:
            return -201, "elements is invalid!"
        buttons = parse_buttons(payload.get("buttons"))
        if isinstance(buttons, str):
            return -201, buttons
        items = []
        for el in elements:
            if not isinstance(el, dict) or not el.get("title"):
                return -201, "element is invalid!"
            items.append({"title": str(el["title"]), "subtitle": str(el.get("subtitle") or ""),
                          "image_url": el.get("image_url"), "action": el.get("default_action")})
        return {**shown, "kind": "list", "elements": items, "buttons": buttons}
    if template_type is None and "buttons" in payload:
        # "Tin tư vấn kèm nút": text with up to five action buttons.
        buttons = parse_buttons(payload.get("buttons"))
        if isinstance(buttons, str):
            return -201, buttons
        if not text:
            return -201, "text is invalid!"
        return {**shown, "buttons": buttons}
    return -233, "message type is invalid or not support"


ECHO_NAMES = {"text": "oa_send_text", "image": "oa_send_image", "sticker": "oa_send_sticker",
              "file": "oa_send_file", "list": "oa_send_list", "request_user_info": "oa_send_list"}


def echo_message(shown: dict[str, Any], mid: str) -> dict[str, Any]:
    message: dict[str, Any] = {"msg_id": mid, "text": shown.get("text", "")}
    if shown["kind"] in {"image", "sticker"}:
        message["attachments"] = [{"type": shown["kind"], "payload": {"url": shown["image_url"],
                                                                       "thumbnail": shown["image_url"]}}]
    elif shown["kind"] == "file":
        message["attachments"] = [{"type": "file", "payload": {"url": shown["url"]}}]
    return message


async def after_send(sim: SimState, oa: OA, user: User, shown: dict[str, Any], mid: str) -> None:
    """The citizen's phone gets the message: Zalo echoes it (``oa_send_*``) and reports the
    receipt (``user_received_message``); both only to the app that sent it."""
    await asyncio.sleep(sim.config.receipt_delay)
    if oa.echoes:
        await webhooks.deliver(sim, oa, webhooks.oa_event(oa, user, ECHO_NAMES.get(shown["kind"], "oa_send_text"),
                                                          echo_message(shown, mid)))
    if oa.receipts:
        await webhooks.deliver(sim, oa, webhooks.oa_event(oa, user, "user_received_message", {"msg_id": mid}))


def base_of(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@post("/v3.0/oa/message/cs", operation_id="SimSendCs", status_code=200)
async def send_cs(request: Request, runtime: Runtime) -> Response[Any]:
    call = await authenticate(request, runtime)
    if isinstance(call, Response):
        return call
    sim, oa = call.sim, call.oa
    body = await json_body(request)
    if body is None:
        return call.error(-201, "body is invalid!")
    recipient = body.get("recipient")
    user_id = recipient.get("user_id") if isinstance(recipient, dict) else None
    if user_id is None or (user := oa.users.get(str(user_id))) is None:
        return call.error(-201, "user_id is invalid!")
    message = body.get("message")
    if not isinstance(message, dict):
        return call.error(-201, "message is invalid!")
    if (problem := window_problem(user)) is not None:
        return call.error(*problem)
    shown = parse_cs_message(sim, oa, message, base_of(request))
    if isinstance(shown, tuple):
        return call.error(*shown)
    mid = msg_id()
    sent = now_ms()
    sim.record_out(oa, "cs", recipient=user.user_id, user_id=user.user_id, content=message, msg_id=mid,
                   endpoint="/v3.0/oa/message/cs")
    kind = shown.pop("kind")
    sim.add_transcript(user, "out", kind, msg_id=mid, channel="cs", **shown)
    shown["kind"] = kind
    sim.spawn(after_send(sim, oa, user, shown, mid))
    data: dict[str, Any] = {"message_id": mid, "user_id": user.user_id, "sent_time": str(sent)}
    if sent - (user.last_interaction or 0) <= WINDOW_FREE_SECONDS * 1000:
        data["quota"] = {"quota_type": "reply"}  # free within 48 h; absent = billed (48 h – 7 d)
    return call.ok(data)


@post(["/v3.0/oa/message/transaction", "/v3.0/oa/message/promotion"], operation_id="SimSendDiscontinued",
      status_code=200)
async def send_discontinued(request: Request, runtime: Runtime) -> Response[Any]:
    """Discontinued on 2026-03-01 in favour of ZBS templates (§1.2, UNCONFIRMED); the code
    returned for a shut-down API is borrowed from the v2 shutdown (-240)."""
    call = await authenticate(request, runtime)
    if isinstance(call, Response):
        return call
    return call.error(-240, "This API has been shut down, please switch to ZBS Template Message")


@post("/v2.0/oa/message", operation_id="SimSendV2", status_code=200)
async def send_v2(request: Request, runtime: Runtime) -> Response[Any]:
    call = await authenticate(request, runtime)
    if isinstance(call, Response):
        return call
    return call.error(-240, "MessageV2 API has been shut down, please switch to MessageV3")


@post("/v3.0/oa/message/template", operation_id="SimSendTemplateByUid", status_code=200)
async def send_template_uid(request: Request, runtime: Runtime) -> Response[Any]:
    """ZBS template by user id (§1.2, UNCONFIRMED shape): no window needed, the template's
    quota is the OA's ZNS daily quota here."""
    call = await authenticate(request, runtime)
    if isinstance(call, Response):
        return call
    sim, oa = call.sim, call.oa
    body = await json_body(request)
    if body is None:
        return call.error(-201, "body is invalid!")
    user = oa.users.get(str(body.get("user_id")))
    if user is None:
        return call.error(-201, "user_id is invalid!")
    if str(body.get("template_id")) not in oa.zns_templates.values():
        return call.error(-201, "template_id is invalid!")
    data = body.get("template_data")
    if not isinstance(data, dict) or not data:
        return call.error(-201, "template_data is invalid!")
    if oa.zns_remaining <= 0:
        return call.error(-211, "Out of quota")
    oa.zns_remaining -= 1
    mid = msg_id()
    sim.record_out(oa, "template", recipient=user.user_id, user_id=user.user_id, template_id=str(body["template_id"]),
                   content=data, msg_id=mid, endpoint="/v3.0/oa/message/template")
    sim.add_transcript(user, "out", "zns", msg_id=mid, channel="template", template_id=str(body["template_id"]),
                       template_data=data, text=template_text(oa, str(body["template_id"]), data))
    return call.ok({"msg_id": mid, "sent_time": str(now_ms()),
                    "quota": {"dailyQuota": str(oa.zns_daily_quota), "remainingQuota": str(oa.zns_remaining)}})


@route("/v3.0/oa/message", http_method=["GET", "POST"], operation_id="SimEmptyApi")
async def empty_api() -> Response[Any]:
    return Response({"error": 404, "message": "You are accessing an empty or invalid API"}, status_code=404)


# ---- uploads ---------------------------------------------------------------------------------

SIGNATURES = {b"\x89PNG\r\n\x1a\n": ("image/png", "png"), b"\xff\xd8\xff": ("image/jpeg", "jpg"),
              b"GIF87a": ("image/gif", "gif"), b"GIF89a": ("image/gif", "gif"), b"%PDF": ("application/pdf", "pdf"),
              b"\xd0\xcf\x11\xe0": ("application/msword", "doc"),
              b"PK\x03\x04": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")}


def sniff(data: bytes) -> tuple[str, str] | None:
    return next((v for magic, v in SIGNATURES.items() if data.startswith(magic)), None)


async def _upload(request: Request, runtime: Runtime, allowed: set[str], limit: int, field: str,
                  invalid: str) -> Response[Any]:
    call = await authenticate(request, runtime)
    if isinstance(call, Response):
        return call
    sim, oa = call.sim, call.oa
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - any unreadable form is "file is invalid"
        form = {}
    upload = form.get("file") if hasattr(form, "get") else None
    if upload is None or not hasattr(upload, "read"):
        return call.error(-201, invalid)
    data = await upload.read()
    kind = sniff(data)
    if kind is None or kind[1] not in allowed:
        return call.error(-201, invalid)
    if len(data) > limit:
        return call.error(-210, "Parameter exceeds allowable limit")
    media_id = store_media(sim, kind[0], data)
    handle = msg_id() + msg_id()
    sim.attachments[handle] = (oa.oa_id, media_id, time.time() + ATTACHMENT_SECONDS)
    return call.ok({field: handle})


def store_media(sim: SimState, content_type: str, data: bytes) -> str:
    media_id = msg_id()
    sim.media[media_id] = (content_type, data)
    return media_id


@post("/v2.0/oa/upload/image", operation_id="SimUploadImage", status_code=200)
async def upload_image(request: Request, runtime: Runtime) -> Response[Any]:
    return await _upload(request, runtime, {"png", "jpg"}, IMAGE_MAX, "attachment_id",
                         "file is invalid. We only support png and jpeg")


@post("/v2.0/oa/upload/gif", operation_id="SimUploadGif", status_code=200)
async def upload_gif(request: Request, runtime: Runtime) -> Response[Any]:
    return await _upload(request, runtime, {"gif"}, IMAGE_MAX, "attachment_id", "file is invalid. We only support gif")


@post("/v2.0/oa/upload/file", operation_id="SimUploadFile", status_code=200)
async def upload_file(request: Request, runtime: Runtime) -> Response[Any]:
    return await _upload(request, runtime, {"pdf", "doc", "docx"}, FILE_MAX, "token",
                         "file is invalid. We only support pdf, doc and docx")


# ---- users, OA, tags ---------------------------------------------------------------------------


def vn_date(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, VN).strftime("%d/%m/%Y") if ms else ""


def user_detail(base: str, user: User) -> dict[str, Any]:
    avatar = f"{base}/sim/avatar/{user.user_id}.svg"
    detail: dict[str, Any] = {
        "user_id": user.user_id, "user_id_by_app": user.user_id_by_app, "user_external_id": "",
        "display_name": user.display_name, "user_alias": "", "is_sensitive": False,
        "user_last_interaction_date": vn_date(user.last_interaction), "user_is_follower": user.follows,
        "avatar": avatar, "avatars": {"120": avatar, "240": avatar},
        "tags_and_notes_info": {"notes": [], "tag_names": sorted(user.tags)}}
    if user.shared_info:
        detail["shared_info"] = user.shared_info
    return detail


@get("/v3.0/oa/user/detail", operation_id="SimUserDetail")
async def get_user_detail(request: Request, runtime: Runtime) -> Response[Any]:
    call = await authenticate(request, runtime)
    if isinstance(call, Response):
        return call
    user = call.oa.users.get(str(query_data(request).get("user_id")))
    if user is None:
        return call.error(-201, "user_id is invalid!")
    return call.ok(user_detail(base_of(request), user))


PERIODS = {"TODAY": 0, "YESTERDAY": 1, "L7D": 7, "L30D": 30}


def _page(q: dict[str, Any]) -> tuple[int, int] | None:
    try:
        offset, count = int(q.get("offset", 0)), int(q.get("count", 5))
    except (TypeError, ValueError):
        return None
    if offset < 0 or not 1 <= count <= 50:
        return None
    return offset, count


@get("/v3.0/oa/user/getlist", operation_id="SimUserList")
async def get_user_list(request: Request, runtime: Runtime) -> Response[Any]:
    call = await authenticate(request, runtime)
    if isinstance(call, Response):
        return call
    q = query_data(request)
    page = _page(q)
    if page is None:
        return call.error(-210, "Parameter exceeds allowable limit")
    users = list(call.oa.users.values())
    if "is_follower" in q:
        want = q["is_follower"] in (True, "true", 1, "1")
        users = [u for u in users if u.follows == want]
    if q.get("tag_name"):
        users = [u for u in users if q["tag_name"] in u.tags]
    if q.get("last_interaction_period") in PERIODS:
        today = datetime.now(VN).replace(hour=0, minute=0, second=0, microsecond=0)
        days = PERIODS[q["last_interaction_period"]]
        start = int((today - timedelta(days=days)).timestamp() * 1000)
        end = int(today.timestamp() * 1000) if q["last_interaction_period"] == "YESTERDAY" else now_ms() + 1
        users = [u for u in users if u.last_interaction and start <= u.last_interaction < end]
    offset, count = page
    chunk = users[offset:offset + count]
    return call.ok({"total": len(users), "count": len(chunk), "offset": offset,
                    "users": [{"user_id": u.user_id} for u in chunk]})


@get("/v2.0/oa/getfollowers", operation_id="SimFollowers")
async def get_followers(request: Request, runtime: Runtime) -> Response[Any]:
    call = await authenticate(request, runtime)
    if isinstance(call, Response):
        return call
    page = _page(query_data(request))
    if page is None:
        return call.error(-210, "Parameter exceeds allowable limit")
    followers = [u for u in call.oa.users.values() if u.follows]
    offset, count = page
    return call.ok({"total": len(followers),
                    "followers": [{"user_id": u.user_id} for u in followers[offset:offset + count]]})


@get("/v2.0/oa/getprofile", operation_id="SimGetProfile")
async def get_profile(request: Request, runtime: Runtime) -> Response[Any]:
    call = await authenticate(request, runtime)
    if isinstance(call, Response):
        return call
    return call.error(-240, "UserInfo API shutdown, please switch to v3.0/oa/user/detail")


@get("/v2.0/oa/getoa", operation_id="SimGetOa")
async def get_oa(request: Request, runtime: Runtime) -> Response[Any]:
    call = await authenticate(request, runtime)
    if isinstance(call, Response):
        return call
    oa, base = call.oa, base_of(request)
    return call.ok({"oa_id": oa.oa_id, "name": oa.oa_name, "description": f"Kênh Zalo chính thức của {oa.oa_name}",
                    "oa_alias": oa.tenant, "is_verified": True, "oa_type": 2, "cate_name": "Cơ quan nhà nước",
                    "num_follower": sum(1 for u in oa.users.values() if u.follows),
                    "avatar": f"{base}/sim/avatar/{oa.oa_id}.svg", "cover": "", "package_name": "Gói Nâng cao",
                    "linked_ZCA": "", "package_valid_through_date": "", "package_auto_renew_date": ""})


@post("/v3.0/oa/quota/message", operation_id="SimQuota", status_code=200)
async def quota_message(request: Request, runtime: Runtime) -> Response[Any]:
    """The per-user form: when the user last interacted (to pre-compute the window)."""
    call = await authenticate(request, runtime)
    if isinstance(call, Response):
        return call
    body = await json_body(request) or {}
    user = call.oa.users.get(str(body.get("user_id")))
    if user is None:
        return call.error(-201, "user_id is invalid!")
    return call.ok({"last_interaction": str(user.last_interaction or ""),
                    "cs_reply": {"remain": 8, "total": 8}})


async def _tag_body(request: Request, call: Call, need_user: bool) -> tuple[User | None, str] | Response[Any]:
    body = await json_body(request) or {}
    tag = str(body.get("tag_name") or "").strip()
    if not tag:
        return call.error(-201, "tag_name is invalid!")
    user = None
    if need_user:
        user = call.oa.users.get(str(body.get("user_id")))
        if user is None:
            return call.error(-201, "user_id is invalid!")
    return user, tag


@post("/v2.0/oa/tag/tagfollower", operation_id="SimTagFollower", status_code=200)
async def tag_follower(request: Request, runtime: Runtime) -> Response[Any]:
    call = await authenticate(request, runtime)
    if isinstance(call, Response):
        return call
    got = await _tag_body(request, call, True)
    if isinstance(got, Response):
        return got
    user, tag = got
    assert user is not None
    user.tags.add(tag)
    call.oa.tags.add(tag)  # tagging auto-creates the tag
    return call.ok()


@post("/v2.0/oa/tag/rmfollowerfromtag", operation_id="SimUntagFollower", status_code=200)
async def untag_follower(request: Request, runtime: Runtime) -> Response[Any]:
    call = await authenticate(request, runtime)
    if isinstance(call, Response):
        return call
    got = await _tag_body(request, call, True)
    if isinstance(got, Response):
        return got
    user, tag = got
    assert user is not None
    user.tags.discard(tag)
    return call.ok()


@post("/v2.0/oa/tag/rmtag", operation_id="SimRemoveTag", status_code=200)
async def remove_tag(request: Request, runtime: Runtime) -> Response[Any]:
    call = await authenticate(request, runtime)
    if isinstance(call, Response):
        return call
    got = await _tag_body(request, call, False)
    if isinstance(got, Response):
        return got
    _, tag = got
    if tag not in call.oa.tags:
        return call.error(-201, "tag_name is invalid!")
    call.oa.tags.discard(tag)
    for u in call.oa.users.values():
        u.tags.discard(tag)
    return call.ok()


@get("/v2.0/oa/tag/gettagsofoa", operation_id="SimListTags")
async def list_tags(request: Request, runtime: Runtime) -> Response[Any]:
    call = await authenticate(request, runtime)
    if isinstance(call, Response):
        return call
    return call.ok(sorted(call.oa.tags))  # a flat array of strings (§1.7)


# ---- ZNS ---------------------------------------------------------------------------------------


# Titles for the demo templates' kinds; the real wording lives in Zalo's approved templates.
TEMPLATE_TITLES = {"received": "Hồ sơ đã được tiếp nhận", "supplement_required": "Hồ sơ cần bổ sung giấy tờ",
                   "awaiting_payment": "Hồ sơ chờ nộp phí, lệ phí", "resolved": "Hồ sơ đã có kết quả",
                   "returned": "Đã trả kết quả hồ sơ", "overdue": "Hồ sơ chậm so với ngày hẹn",
                   "answer_waiting": "Câu hỏi của bạn đã có trả lời"}


def template_text(oa: OA, template_id: str, data: dict[str, Any]) -> str:
    """What the phone shows for a template message: its title and its parameters."""
    kind = next((k for k, v in oa.zns_templates.items() if v == template_id), "")
    title = TEMPLATE_TITLES.get(kind, f"Mẫu tin {template_id}")
    return title + "\n" + "\n".join(f"{k}: {v}" for k, v in data.items())


async def zns_receipt(sim: SimState, oa: OA, phone: str, mid: str, tracking_id: str) -> None:
    await asyncio.sleep(sim.config.receipt_delay)
    delivered = now_ms()
    record = sim.zns.get(mid)
    if record is not None:
        record.update(status=1, delivery_time=str(delivered))
    if oa.receipts:
        await webhooks.deliver(sim, oa, webhooks.zns_receipt_event(oa, phone, mid, tracking_id, delivered), zns=True)


@post("/message/template", operation_id="SimZnsSend", status_code=200)
async def zns_send(request: Request, runtime: Runtime) -> Response[Any]:
    call = await authenticate(request, runtime, "zns")
    if isinstance(call, Response):
        return call
    sim, oa = call.sim, call.oa
    body = await json_body(request)
    if body is None:
        return call.error(-100, "Unknown error")
    phone = normalize_phone(str(body.get("phone") or ""))
    if not PHONE_RE.match(phone):
        return call.error(-108, "Phone number invalid")
    template_id = str(body.get("template_id") or "")
    if template_id not in oa.zns_templates.values():
        return call.error(-109, "Template ID invalid")
    data = body.get("template_data")
    if not isinstance(data, dict) or not data:
        return call.error(-111, "Template data empty")
    for value in data.values():
        if not isinstance(value, (str, int, float)) or nfc_len(str(value)) > ZNS_PARAM_MAX:
            return call.error(-1121, "Parameter exceeds the limit length")
    tracking_id = body.get("tracking_id")
    if not isinstance(tracking_id, str) or not tracking_id:
        # tracking_id is required (§4.2); the code for its absence is not documented: UNCONFIRMED.
        return call.error(-100, "tracking_id is required")
    if body.get("mode") == "development" and phone not in oa.admin_phones:
        return call.error(-127, "Template test only send to admin of app or OA")
    if phone in oa.no_zalo_phones:
        return call.error(-118, "Zalo account not existed")
    if oa.zns_remaining <= 0:
        return call.error(-144, "OA has reached the daily quota of sending messages")
    oa.zns_remaining -= 1
    mid = msg_id()[:20]
    sent = now_ms()
    sim.zns[mid] = {"status": 0, "delivery_time": None, "phone": phone, "oa_id": oa.oa_id}
    sim.record_out(oa, "zns", recipient=phone, phone=phone, template_id=template_id, content=data,
                   tracking_id=tracking_id, msg_id=mid, endpoint="/message/template", mode=body.get("mode"))
    for user in sim.users_by_phone(oa, phone):
        sim.add_transcript(user, "out", "zns", msg_id=mid, channel="zns", template_id=template_id,
                           template_data=data, text=template_text(oa, template_id, data))
    sim.spawn(zns_receipt(sim, oa, phone, mid, tracking_id))
    return call.ok({"msg_id": mid, "sent_time": str(sent), "sending_mode": str(body.get("sending_mode") or "1"),
                    "quota": {"dailyQuota": str(oa.zns_daily_quota), "remainingQuota": str(oa.zns_remaining)}})


@get("/message/quota", operation_id="SimZnsQuota")
async def zns_quota(request: Request, runtime: Runtime) -> Response[Any]:
    call = await authenticate(request, runtime, "zns")
    if isinstance(call, Response):
        return call
    return call.ok({"dailyQuota": str(call.oa.zns_daily_quota), "remainingQuota": str(call.oa.zns_remaining)})


@get("/message/status", operation_id="SimZnsStatus")
async def zns_status(request: Request, runtime: Runtime) -> Response[Any]:
    call = await authenticate(request, runtime, "zns")
    if isinstance(call, Response):
        return call
    record = call.sim.zns.get(str(request.query_params.get("message_id")))
    if record is None or record["oa_id"] != call.oa.oa_id:
        return call.error(-107, "Message ID invalid")
    return call.ok({"delivery_time": record["delivery_time"] or "", "status": record["status"],
                    "message": "Delivered" if record["status"] == 1 else "Not delivered yet"})


# ---- graph API (Mini App) ----------------------------------------------------------------------


def graph_error(code: int, message: str) -> Response[Any]:
    return zalo(error=code, message=message)


@get("/v2.0/me", operation_id="SimGraphMe")
async def graph_me(request: Request, runtime: Runtime) -> Response[Any]:
    """``GET graph.zalo.me/v2.0/me?fields=id,name,picture`` with the Mini App user's
    ``access_token`` and ``appsecret_proof`` (required here: fail closed, §5.2). The error
    code for a bad token is UNCONFIRMED; 452 is the graph API's session error."""
    sim = get_state(runtime)
    await sim.load(runtime)
    session = sim.miniapp.get(request.headers.get("access_token") or "")
    if session is None or time.time() >= session.expires_at:
        return graph_error(452, "Session key invalid. This could be because the session key has an incorrect "
                                "format, or because the user has revoked this session")
    oa = sim.oas[session.oa_id]
    expected = hmac.new((oa.app_secret or "").encode(), session.access_token.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest((request.headers.get("appsecret_proof") or "").lower(), expected):
        return graph_error(-242, "Invalid appsecret_proof provided in the API argument")
    user = oa.users[session.user_id]
    fields = {f.strip() for f in (request.query_params.get("fields") or "id").split(",")}
    data: dict[str, Any] = {"id": session.id}
    if "name" in fields:
        data["name"] = user.display_name
    if "picture" in fields:
        data["picture"] = {"data": {"url": f"{base_of(request)}/sim/avatar/{user.user_id}.svg"}}
    return Response({**data, "error": 0, "message": "Success"}, media_type=MediaType.JSON)


@get("/v2.0/me/info", operation_id="SimGraphMeInfo")
async def graph_me_info(request: Request, runtime: Runtime) -> Response[Any]:
    """The phone number behind a ``getPhoneNumber()`` token: headers ``access_token``,
    ``code`` (the token; 2 minutes, single use) and ``secret_key`` (the app secret)."""
    sim = get_state(runtime)
    await sim.load(runtime)
    session = sim.miniapp.get(request.headers.get("access_token") or "")
    if session is None or time.time() >= session.expires_at:
        return graph_error(452, "Session key invalid. This could be because the session key has an incorrect "
                                "format, or because the user has revoked this session")
    oa = sim.oas[session.oa_id]
    if not hmac.compare_digest(request.headers.get("secret_key") or "", oa.app_secret or "\0"):
        return graph_error(-104, "App secret key invalid")  # ZNS/platform table; UNCONFIRMED for graph
    code = request.headers.get("code") or ""
    hit = sim.phone_tokens.pop(code, None)
    if hit is None or hit[0] != oa.oa_id or hit[1] != session.user_id or time.time() >= hit[2]:
        return graph_error(-201, "code is invalid!")
    user = oa.users[session.user_id]
    if not user.phone:
        return graph_error(-201, "code is invalid!")
    return zalo({"number": user.phone})


HANDLERS = [send_cs, send_discontinued, send_v2, send_template_uid, empty_api, upload_image, upload_gif,
            upload_file, get_user_detail, get_user_list, get_followers, get_profile, get_oa, quota_message,
            tag_follower, untag_follower, remove_tag, list_tags, zns_send, zns_quota, zns_status, graph_me,
            graph_me_info]
