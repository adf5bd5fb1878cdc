"""The simulator's own JSON API under ``/sim/api`` for tests, tools and the phone page.

A citizen acts (``POST /sim/api/send``), Motcua's accepted messages are read back
(``/outbox``), token pairs are seeded (``/tokens/{oa}``), faults switched on and off
(``/faults``), counters read (``/stats``). This is not Zalo: errors here are ordinary HTTP
errors with a message a person understands.
"""

from __future__ import annotations

import hashlib
import html
import json
import time
from typing import Any

from litestar import Request, Response, delete, get, post
from litestar.plugins.problem_details import ProblemDetailsException

from motcua.crypto import normalize_phone
from motcua.runtime import Runtime
from motcua.sim import webhooks
from motcua.sim.openapi import PHONE_RE, sniff, store_media
from motcua.sim.state import OA, PHONE_TOKEN_SECONDS, MiniAppSession, SimState, User, get_state, msg_id, now_ms, token

FAULT_MODES = {"timeout", "5xx", "quota", "expired_token", "rate_limit"}
SEND_TYPES = {"text", "image", "location", "file", "sticker", "submit_info", "follow", "unfollow", "click",
              "chatnow", "seen"}
# A 1x1 PNG for an image "taken" without a file (tools, tests).
PIXEL = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                      "0000000d49444154789c6360f8cff01f0005000201a5b6e1ce0000000049454e44ae426082")


TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 413: "Content Too Large"}


def bad(detail: str, status: int = 400) -> ProblemDetailsException:
    """An error whose ``detail`` is the sentence a person reads (problem+json)."""
    return ProblemDetailsException(status_code=status, title=TITLES.get(status, "Error"), detail=detail)


async def body_of(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise bad("Nội dung gửi lên không phải JSON hợp lệ.") from None
    if not isinstance(value, dict):
        raise bad("Nội dung gửi lên phải là một đối tượng JSON.")
    return value


async def sim_and_oa(runtime: Runtime, key: Any) -> tuple[SimState, OA]:
    sim = get_state(runtime)
    await sim.load(runtime)
    oa = sim.find_oa(key)
    if oa is None:
        await sim.load(runtime, force=True)  # a tenant applied a moment ago
        oa = sim.find_oa(key)
    if oa is None:
        raise bad(status=404, detail=f"Không có Official Account nào ứng với {key!r} (tenant, oa_id hoặc app_id).")
    return sim, oa


def pair_view(oa: OA) -> dict[str, Any]:
    p = oa.current
    if p is None:
        return {"access_token": None, "refresh_token": None, "access_expires_at": None, "expires_in": None}
    return {"access_token": p.access_token, "refresh_token": p.refresh_token,
            "access_expires_at": int(p.access_expires_at * 1000),
            "refresh_expires_at": int(p.refresh_expires_at * 1000),
            "expires_in": max(0, int(p.access_expires_at - time.time()))}


def oa_view(oa: OA, sim: SimState) -> dict[str, Any]:
    return {"tenant": oa.tenant, "oa_id": oa.oa_id, "oa_name": oa.oa_name, "app_id": oa.app_id,
            "mini_app_id": oa.mini_app_id, "secret_key": oa.secret_key, "app_secret": oa.app_secret,
            "webhook_url": oa.webhook, "webhook_enabled": oa.webhook_enabled, "zns_templates": oa.zns_templates,
            "followers": sum(1 for u in oa.users.values() if u.follows), **pair_view(oa), "config": oa.config()}


def user_view(user: User) -> dict[str, Any]:
    return {"user_id": user.user_id, "user_id_by_app": user.user_id_by_app, "miniapp_id": user.miniapp_id,
            "oa_id": user.oa_id, "display_name": user.display_name, "phone": user.phone, "follows": user.follows,
            "last_interaction": user.last_interaction, "tags": sorted(user.tags), "shared_info": user.shared_info}


@get("/api/tenants", operation_id="SimTenants")
async def list_tenants(runtime: Runtime) -> list[dict[str, Any]]:
    sim = get_state(runtime)
    await sim.load(runtime, force=True)
    return [oa_view(oa, sim) for oa in sorted(sim.oas.values(), key=lambda o: o.tenant)]


def check_profile(data: dict[str, Any]) -> None:
    """Refuse a bad phone before anything is created or changed."""
    if data.get("phone") and not PHONE_RE.match(normalize_phone(str(data["phone"]))):
        raise bad("Số điện thoại không hợp lệ (ví dụ 0912345678).")


def apply_profile(user: User, data: dict[str, Any]) -> None:
    check_profile(data)
    if data.get("display_name"):
        user.display_name = str(data["display_name"])[:100]
    if data.get("phone"):
        user.phone = normalize_phone(str(data["phone"]))


def media_url(request: Request, media_id: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/sim/media/{media_id}"


def build_event(sim: SimState, oa: OA, user: User, kind: str, data: dict[str, Any], request: Request
                ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    """(event, transcript entry fields, note) for what the citizen did."""
    text = str(data.get("text") or "")
    mid = msg_id()
    if kind == "text":
        if not text.strip():
            raise bad("Tin nhắn trống.")
        message: dict[str, Any] = {"text": text, "msg_id": mid}
        if data.get("quote_msg_id"):
            message["quote_msg_id"] = str(data["quote_msg_id"])
        user.interact(message=True)
        return webhooks.user_event(oa, user, "user_send_text", message), {"kind": "text", "text": text, "msg_id": mid}, None
    if kind == "click":
        payload = data.get("payload")
        if not isinstance(payload, str) or not payload:
            raise bad("Thiếu payload của nút (chuỗi của oa.query.show / oa.query.hide).")
        # Tapping an oa.query.* button "sends" its payload as the user's text (§1.4).
        user.interact(message=True)
        entry = {"kind": "text", "text": payload, "msg_id": mid, "hidden": bool(data.get("hidden"))}
        return webhooks.user_event(oa, user, "user_send_text", {"text": payload, "msg_id": mid}), entry, None
    if kind in {"image", "sticker"}:
        url = data.get("image_url") or data.get("url")
        if not url:
            url = media_url(request, store_media(sim, "image/png", PIXEL))
        attachment = {"payload": {"thumbnail": url, "url": url}, "type": kind}
        if kind == "sticker":
            attachment["payload"]["id"] = str(data.get("sticker_id") or "sim")
        user.interact(message=True)
        event = webhooks.user_event(oa, user, f"user_send_{kind}",
                                    {"msg_id": mid, "text": text, "attachments": [attachment]})
        return event, {"kind": kind, "text": text, "image_url": url, "msg_id": mid}, None
    if kind == "location":
        try:
            lat, lon = float(data.get("latitude", 9.1769)), float(data.get("longitude", 105.1524))
        except (TypeError, ValueError):
            raise bad("Tọa độ không hợp lệ.") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise bad("Tọa độ không hợp lệ.")
        attachment = {"payload": {"coordinates": {"latitude": str(lat), "longitude": str(lon)}}, "type": "location"}
        user.interact(message=True)
        event = webhooks.user_event(oa, user, "user_send_location", {"msg_id": mid, "text": text,
                                                                      "attachments": [attachment]})
        return event, {"kind": "location", "latitude": lat, "longitude": lon, "msg_id": mid}, None
    if kind == "file":
        url = data.get("url")
        name = str(data.get("name") or "tai-lieu.pdf")
        content = b"%PDF-1.4\n% motcua simulator\n"
        if not url:
            url = media_url(request, store_media(sim, "application/pdf", content))
        payload = {"size": str(data.get("size") or len(content)), "name": name,
                   "checksum": str(data.get("checksum") or hashlib.md5(content).hexdigest()),  # noqa: S324 - Zalo's field
                   "type": name.rsplit(".", 1)[-1] if "." in name else "pdf", "url": url}
        user.interact(message=True)
        event = webhooks.user_event(oa, user, "user_send_file", {"msg_id": mid, "text": text,
                                                                  "attachments": [{"payload": payload, "type": "file"}]})
        return event, {"kind": "file", "name": name, "url": url, "msg_id": mid}, None
    if kind == "submit_info":
        raw = data.get("info") if isinstance(data.get("info"), dict) else data
        phone = normalize_phone(str(raw.get("phone") or user.phone or ""))
        if not PHONE_RE.match(phone):
            raise bad("Số điện thoại chia sẻ không hợp lệ.")
        name = str(raw.get("name") or user.display_name)
        address = raw.get("full_address") if isinstance(raw.get("full_address"), dict) else {
            "user_city": str(raw.get("city") or ""), "user_ward": str(raw.get("ward") or ""),
            "user_address": str(raw.get("address") or "")}
        # Today's shape (§3.5): full_address with city and ward, no district (two-level units).
        info = {"name": name, "phone": phone, "user_dob": str(raw.get("user_dob") or ""),
                "gender": str(raw.get("gender") or ""), "full_address": address}
        user.shared_info = {"name": name, "phone": phone, "address": address.get("user_address", ""),
                            "city": address.get("user_city", ""), "ward": address.get("user_ward", "")}
        user.phone = user.phone or phone
        user.interact(message=True)
        return webhooks.submit_info_event(oa, user, info), {"kind": "submit_info", "info": info}, None
    if kind == "follow":
        if user.follows:
            return None, None, "đã quan tâm từ trước: Zalo không gửi lại sự kiện follow"
        user.follows, user.followed_at = True, now_ms()
        user.interact()
        event = webhooks.follow_event(oa, user, "follow", str(data.get("source") or "oa_profile"))
        return event, {"kind": "system", "text": "Bạn đã quan tâm Official Account"}, None
    if kind == "unfollow":
        if not user.follows:
            return None, None, "chưa quan tâm: Zalo không gửi sự kiện unfollow"
        user.follows, user.unfollowed_at = False, now_ms()
        event = webhooks.follow_event(oa, user, "unfollow", str(data.get("source") or "oa_profile"))
        return event, {"kind": "system", "text": "Bạn đã bỏ quan tâm Official Account"}, None
    if kind == "chatnow":
        # Sent once per user and OA, and only to someone who never chatted (§3.5).
        if user.clicked_chatnow or user.last_message_at:
            return None, None, "user_click_chatnow chỉ gửi một lần, cho người chưa từng nhắn tin"
        user.clicked_chatnow = True
        user.interact()
        return webhooks.chatnow_event(oa, user), None, None
    if kind == "seen":
        ids = data.get("msg_ids")
        if not isinstance(ids, list) or not ids:
            ids = [e["msg_id"] for e in user.transcript if e["direction"] == "out" and e.get("channel") == "cs"
                   and not e.get("seen")]
        ids = [str(i) for i in ids]
        if not ids:
            return None, None, "không có tin nào mới để đánh dấu đã xem"
        for e in user.transcript:
            if e.get("msg_id") in ids:
                e["seen"] = True
        return webhooks.oa_event(oa, user, "user_seen_message", {"msg_ids": ids}), None, None
    raise bad(f"type phải là một trong: {', '.join(sorted(SEND_TYPES))}.")


@post("/api/send", operation_id="SimSend", status_code=200)
async def send(request: Request, runtime: Runtime) -> dict[str, Any]:
    """A citizen does something in Zalo: the event is built, signed and delivered to Motcua now."""
    data = await body_of(request)
    kind = str(data.get("type") or "")
    if kind not in SEND_TYPES:
        raise bad(f"type phải là một trong: {', '.join(sorted(SEND_TYPES))}.")
    sim, oa = await sim_and_oa(runtime, data.get("oa_id") or data.get("tenant"))
    user_id = data.get("user_id")
    if user_id is not None and kind in {"unfollow", "seen"} and str(user_id) not in oa.users:
        raise bad("Người dùng này chưa từng tương tác với OA.", 404)
    check_profile(data)
    created = not user_id or str(user_id) not in oa.users
    user = sim.user(oa, str(user_id) if user_id else None)
    assert user is not None
    before = (user.display_name, user.phone)
    apply_profile(user, data)
    try:
        event, entry, note = build_event(sim, oa, user, kind, data, request)
    except ProblemDetailsException:
        # Bad input leaves no trace: no new citizen, no changed profile.
        if created:
            oa.users.pop(user.user_id, None)
        user.display_name, user.phone = before
        raise
    result: dict[str, Any] = {"user_id": user.user_id, "user_id_by_app": user.user_id_by_app, "event": event,
                              "status_code": None, "response": None, "delivered": False, "note": note}
    if event is None:
        return result
    shown = None
    if entry is not None:  # on the phone at once; the delivery result is filled in after
        shown = sim.add_transcript(user, "in", entry.pop("kind"), **entry, delivery=None)
    record = await webhooks.deliver(sim, oa, event)
    result.update(status_code=record["status_code"], response=record["response"], delivered=record["delivered"],
                  delivery_seq=record["seq"], error=record.get("error"))
    if shown is not None:
        shown["delivery"] = {"status_code": record["status_code"], "delivered": record["delivered"]}
    return result


@get("/api/outbox", operation_id="SimOutbox")
async def outbox(runtime: Runtime, since: int = 0, user_id: str | None = None, oa_id: str | None = None,
                 tenant: str | None = None, channel: str | None = None, phone: str | None = None
                 ) -> list[dict[str, Any]]:
    """Every message the fake Zalo accepted from Motcua, oldest first; ``since`` is a ``seq``."""
    sim = get_state(runtime)
    items = [m for m in sim.outbox if m["seq"] > since]
    if user_id:
        items = [m for m in items if m.get("user_id") == user_id]
    if oa_id:
        items = [m for m in items if m["oa_id"] == oa_id]
    if tenant:
        items = [m for m in items if m["tenant"] == tenant]
    if channel:
        items = [m for m in items if m["channel"] == channel]
    if phone:
        items = [m for m in items if m.get("phone") == normalize_phone(phone)]
    return items


@get("/api/deliveries", operation_id="SimDeliveries")
async def deliveries(runtime: Runtime, since: int = 0, oa_id: str | None = None,
                     event_name: str | None = None) -> list[dict[str, Any]]:
    """Webhook events the simulator posted to Motcua, with each attempt's answer."""
    sim = get_state(runtime)
    items = [d for d in sim.deliveries if d["seq"] > since]
    if oa_id:
        items = [d for d in items if d["oa_id"] == oa_id or d["tenant"] == oa_id]
    if event_name:
        items = [d for d in items if d["event_name"] == event_name]
    return items


@post("/api/tokens/{oa_key:str}", operation_id="SimSeedTokens", status_code=200)
async def seed_tokens(request: Request, runtime: Runtime, oa_key: str) -> dict[str, Any]:
    """A valid pair without clicking through OAuth. Returns the current pair if it is still
    valid, unless ``rotate`` or ``expires_in`` asks for a new one."""
    data = await body_of(request)
    sim, oa = await sim_and_oa(runtime, oa_key)
    expires_in = data.get("expires_in")
    if expires_in is not None and (not isinstance(expires_in, (int, float)) or expires_in < 0):
        raise bad("expires_in phải là số giây (>= 0).")
    current = oa.current
    fresh = current is not None and current.access_token in sim.access and current.refresh_token in sim.refresh \
        and current.access_expires_at > time.time()
    if data.get("rotate") or expires_in is not None or not fresh:
        sim.issue_tokens(oa, expires_in=expires_in)
    return {"tenant": oa.tenant, "oa_id": oa.oa_id, **pair_view(oa)}


@get("/api/faults", operation_id="SimFaults")
async def get_faults(runtime: Runtime) -> dict[str, Any]:
    return get_state(runtime).fault.describe()


@post("/api/faults", operation_id="SimSetFaults", status_code=200)
async def set_faults(request: Request, runtime: Runtime) -> dict[str, Any]:
    """Switch a fault on for Zalo's endpoints (``mode: null`` switches it off).

    ``seconds``: how long it stays on; ``count``: how many calls it hits; ``endpoints``: path
    fragments it applies to (``"message/cs"``, ``"access_token"``…; none = all); ``oa_id``: one
    OA; ``delay``: how long ``timeout`` holds a call. ``expired_token`` acts at once: every
    current access token (of ``oa_id``, or all) expires, refresh tokens stay valid.
    """
    data = await body_of(request)
    sim = get_state(runtime)
    await sim.load(runtime)
    mode = data.get("mode")
    if mode is not None and mode not in FAULT_MODES:
        raise bad(f"mode phải là một trong: {', '.join(sorted(FAULT_MODES))} hoặc null.")
    oa_id = None
    if data.get("oa_id") or data.get("tenant"):
        oa_id = (await sim_and_oa(runtime, data.get("oa_id") or data.get("tenant")))[1].oa_id
    if mode == "expired_token":
        return {"mode": None, "expired": sim.expire_access(oa_id)}
    endpoints = data.get("endpoints") or []
    if not isinstance(endpoints, list) or not all(isinstance(e, str) for e in endpoints):
        raise bad("endpoints phải là danh sách chuỗi.")
    seconds, count, delay = data.get("seconds"), data.get("count"), data.get("delay", 15.0)
    for name, value in (("seconds", seconds), ("count", count), ("delay", delay)):
        if value is not None and (not isinstance(value, (int, float)) or value < 0):
            raise bad(f"{name} phải là một số không âm.")
    f = sim.fault
    f.mode, f.endpoints, f.oa_id, f.delay = mode, endpoints, oa_id, float(delay)
    f.until = time.time() + seconds if seconds is not None else None
    f.count = int(count) if count is not None else None
    return f.describe()


@delete("/api/faults", operation_id="SimClearFaults", status_code=200)
async def clear_faults(runtime: Runtime) -> dict[str, Any]:
    f = get_state(runtime).fault
    f.mode, f.endpoints, f.oa_id, f.until, f.count = None, [], None, None, None
    return f.describe()


@get("/api/stats", operation_id="SimStats")
async def stats(runtime: Runtime) -> dict[str, Any]:
    """Counters per OA id (and the same under the tenant slug, for convenience)."""
    sim = get_state(runtime)
    await sim.load(runtime)
    out: dict[str, Any] = {}
    for oa in sim.oas.values():
        out[oa.oa_id] = out[oa.tenant] = sim.stats_for(oa.oa_id).as_dict()
    return out


@post("/api/users", operation_id="SimUpsertUser", status_code=200)
async def upsert_user(request: Request, runtime: Runtime) -> dict[str, Any]:
    """Create or adjust a citizen without sending an event: name, phone, follow state, and
    ``last_interaction_ago`` (seconds) to test the reply window without waiting days."""
    data = await body_of(request)
    sim, oa = await sim_and_oa(runtime, data.get("oa_id") or data.get("tenant"))
    check_profile(data)
    ago = data.get("last_interaction_ago")
    if ago is not None and (not isinstance(ago, (int, float)) or ago < 0):
        raise bad("last_interaction_ago phải là số giây (>= 0).")
    user = sim.user(oa, str(data["user_id"]) if data.get("user_id") else None)
    assert user is not None
    apply_profile(user, data)
    if "follows" in data:
        user.follows = bool(data["follows"])
        if user.follows:
            user.followed_at = user.followed_at or now_ms()
    if ago is not None:
        user.last_interaction = user.last_message_at = now_ms() - int(ago * 1000)
    return user_view(user)


@get("/api/users/{oa_key:str}/{user_id:str}", operation_id="SimGetUser")
async def get_user(runtime: Runtime, oa_key: str, user_id: str) -> dict[str, Any]:
    sim, oa = await sim_and_oa(runtime, oa_key)
    user = oa.users.get(user_id)
    if user is None:
        raise bad(status=404, detail="Không có người dùng này.")
    return user_view(user)


@get("/api/transcript", operation_id="SimTranscript")
async def transcript(runtime: Runtime, oa_id: str, user_id: str, after: int = 0) -> dict[str, Any]:
    """The chat as the citizen's phone shows it, entries after ``after`` (a ``seq``)."""
    sim, oa = await sim_and_oa(runtime, oa_id)
    user = oa.users.get(user_id)
    if user is None:
        return {"user": None, "entries": [], "last": after}
    entries = [e for e in user.transcript if e["seq"] > after]
    return {"user": user_view(user), "entries": entries, "last": max([after, *(e["seq"] for e in entries)])}


@post("/api/oas/{oa_key:str}", operation_id="SimConfigureOa", status_code=200)
async def configure_oa(request: Request, runtime: Runtime, oa_key: str) -> dict[str, Any]:
    """Per-OA switches: webhook URL (null = default) and enabled, echoes, receipts,
    require_appsecret_proof, redirect_uris, admin_phones, no_zalo_phones, rate_limit_per_minute,
    zns_daily_quota, zns_remaining."""
    data = await body_of(request)
    sim, oa = await sim_and_oa(runtime, oa_key)
    if "webhook_url" in data:
        url = data["webhook_url"]
        if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            raise bad("webhook_url phải là một URL http(s) hoặc null.")
        oa.webhook_url = url
        oa.webhook_enabled = True  # re-registering the URL re-subscribes the app
    for name in ("webhook_enabled", "echoes", "receipts", "require_appsecret_proof"):
        if name in data:
            setattr(oa, name, bool(data[name]))
    for name in ("redirect_uris",):
        if name in data:
            oa.redirect_uris = [str(u) for u in data[name] or []]
    for name in ("admin_phones", "no_zalo_phones"):
        if name in data:
            setattr(oa, name, {normalize_phone(str(p)) for p in data[name] or []})
    for name in ("rate_limit_per_minute", "zns_daily_quota", "zns_remaining"):
        if name in data:
            value = data[name]
            if not isinstance(value, int) or value < 0:
                raise bad(f"{name} phải là số nguyên không âm.")
            setattr(oa, name, value)
            if name == "zns_daily_quota" and "zns_remaining" not in data:
                oa.zns_remaining = value
    if "rate_limit_per_minute" in data:
        oa.calls.clear()
    return oa_view(oa, sim)


@post("/api/config", operation_id="SimConfigure", status_code=200)
async def configure(request: Request, runtime: Runtime) -> dict[str, Any]:
    """Global switches: token lifetimes, webhook timeout, retry delays, receipt delay."""
    data = await body_of(request)
    cfg = get_state(runtime).config
    for name in ("access_token_seconds", "refresh_token_seconds", "webhook_timeout", "receipt_delay"):
        if name in data:
            value = data[name]
            if not isinstance(value, (int, float)) or value < 0:
                raise bad(f"{name} phải là một số không âm.")
            setattr(cfg, name, float(value))
    if "retry_delays" in data:
        delays = data["retry_delays"]
        if not isinstance(delays, list) or not all(isinstance(d, (int, float)) and d >= 0 for d in delays):
            raise bad("retry_delays phải là danh sách số giây.")
        cfg.retry_delays = tuple(float(d) for d in delays)
    if "invalidate_old_access_token" in data:
        cfg.invalidate_old_access_token = bool(data["invalidate_old_access_token"])
    return cfg.as_dict()


@post("/api/miniapp/login", operation_id="SimMiniAppLogin", status_code=200)
async def miniapp_login(request: Request, runtime: Runtime) -> dict[str, Any]:
    """What the Mini App's ``getAccessToken()`` and ``getUserInfo()`` give the citizen's phone."""
    data = await body_of(request)
    sim, oa = await sim_and_oa(runtime, data.get("oa_id") or data.get("tenant"))
    user = sim.user(oa, str(data["user_id"]) if data.get("user_id") else None)
    assert user is not None
    apply_profile(user, data)
    session = MiniAppSession(access_token=token(), oa_id=oa.oa_id, user_id=user.user_id, id=user.miniapp_id,
                             expires_at=time.time() + float(data.get("expires_in") or 3600))
    sim.miniapp[session.access_token] = session
    return {"access_token": session.access_token, "expires_in": int(session.expires_at - time.time()),
            "userInfo": {"id": user.miniapp_id, "name": user.display_name, "idByOA": user.user_id,
                         "followedOA": user.follows}, "mini_app_id": oa.mini_app_id}


@post("/api/miniapp/phone_token", operation_id="SimMiniAppPhoneToken", status_code=200)
async def miniapp_phone_token(request: Request, runtime: Runtime) -> dict[str, Any]:
    """What ``getPhoneNumber()`` returns after the citizen agrees: a token, not the number."""
    data = await body_of(request)
    sim = get_state(runtime)
    session = sim.miniapp.get(str(data.get("access_token") or ""))
    if session is None:
        raise bad("access_token của Mini App không hợp lệ.", 401)
    user = sim.oas[session.oa_id].users[session.user_id]
    apply_profile(user, data)
    if not user.phone:
        raise bad("Người dùng chưa có số điện thoại: gửi kèm phone.")
    code = token()
    sim.phone_tokens[code] = (session.oa_id, session.user_id, time.time() + PHONE_TOKEN_SECONDS)
    return {"token": code}


@post("/api/upload", operation_id="SimUpload", status_code=200)
async def upload(request: Request, runtime: Runtime) -> dict[str, Any]:
    """A photo or file the citizen picks on the phone page; served back at ``/sim/media/{id}``."""
    sim = get_state(runtime)
    form = await request.form()
    upload_file = form.get("file")
    if upload_file is None or not hasattr(upload_file, "read"):
        raise bad("Chưa chọn tệp.")
    data = await upload_file.read()
    if len(data) > 10_000_000:
        raise bad("Tệp quá lớn (tối đa 10 MB).", 413)
    kind = sniff(data)
    if kind is None:
        raise bad("Chỉ nhận ảnh PNG, JPEG, GIF hoặc tệp PDF, DOC, DOCX.")
    media_id = store_media(sim, kind[0], data)
    return {"id": media_id, "url": media_url(request, media_id), "content_type": kind[0], "size": len(data),
            "name": getattr(upload_file, "filename", None)}


@get("/media/{media_id:str}", operation_id="SimMedia")
async def media(runtime: Runtime, media_id: str) -> Response[bytes]:
    hit = get_state(runtime).media.get(media_id)
    if hit is None:
        raise bad(status=404, detail="Không có tệp này.")
    return Response(hit[1], media_type=hit[0], headers={"Cache-Control": "max-age=86400"})


@get("/avatar/{name:str}", operation_id="SimAvatar")
async def avatar(name: str) -> Response[str]:
    """A coloured disc per id: enough for user/detail and getoa to hand out working URLs."""
    stem = name.removesuffix(".svg")
    hue = int(hashlib.sha256(stem.encode()).hexdigest()[:4], 16) % 360
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120"><circle cx="60" cy="60" r="60" '
           f'fill="hsl({hue},60%,55%)"/><text x="60" y="74" font-size="40" text-anchor="middle" fill="#fff">'
           f'{html.escape(stem[-2:])}</text></svg>')
    return Response(svg, media_type="image/svg+xml")


HANDLERS = [list_tenants, send, outbox, deliveries, seed_tokens, get_faults, set_faults, clear_faults, stats,
            upsert_user, get_user, transcript, configure_oa, configure, miniapp_login, miniapp_phone_token, upload,
            media, avatar]
