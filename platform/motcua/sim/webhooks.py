"""Webhook events as Zalo sends them: envelopes (zalo.md §3.4–3.5), signature (§3.3), delivery
with Zalo's retry ladder (§3.2).

Key order follows the official examples; the body is compact JSON and is signed and sent as
the very same bytes, so a receiver that re-serialises before checking the MAC fails here as it
would in production.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import httpx

from motcua.sim.state import OA, SimState, User, now_ms


def signature(app_id: str, body: bytes, timestamp: str, secret_key: str) -> str:
    """``X-ZEvent-Signature``: ``mac=`` + plain SHA-256 (not HMAC) of app id, raw body,
    the body's ``timestamp`` and the **OA secret key**, as lowercase hex."""
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret_key.encode()).hexdigest()
    return "mac=" + digest


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


# ---- envelopes ----------------------------------------------------------------------------


def user_event(oa: OA, user: User, event_name: str, message: dict[str, Any]) -> dict[str, Any]:
    """user → OA: ``sender`` is the user, ``recipient`` the OA."""
    return {"app_id": oa.app_id, "sender": {"id": user.user_id}, "user_id_by_app": user.user_id_by_app,
            "recipient": {"id": oa.oa_id}, "event_name": event_name, "message": message,
            "timestamp": str(now_ms())}


def follow_event(oa: OA, user: User, event_name: str, source: str = "oa_profile") -> dict[str, Any]:
    return {"oa_id": oa.oa_id, "follower": {"id": user.user_id}, "user_id_by_app": user.user_id_by_app,
            "event_name": event_name, "app_id": oa.app_id, "source": source, "timestamp": str(now_ms())}


def submit_info_event(oa: OA, user: User, info: dict[str, Any]) -> dict[str, Any]:
    return {"app_id": oa.app_id, "sender": {"id": user.user_id}, "user_id_by_app": user.user_id_by_app,
            "recipient": {"id": oa.oa_id}, "event_name": "user_submit_info", "info": info,
            "timestamp": str(now_ms())}


def chatnow_event(oa: OA, user: User) -> dict[str, Any]:
    """``user_click_chatnow`` is flat: ``oa_id``, ``user_id``, ``user_id_by_app`` (§3.4)."""
    return {"oa_id": oa.oa_id, "user_id": user.user_id, "user_id_by_app": user.user_id_by_app,
            "event_name": "user_click_chatnow", "app_id": oa.app_id, "timestamp": str(now_ms())}


def oa_event(oa: OA, user: User, event_name: str, message: dict[str, Any],
             admin_id: str | None = None) -> dict[str, Any]:
    """OA → user echoes and receipts: ``sender`` is the OA. ``admin_id`` only when a human
    replied from the OA chat tool, never for API sends."""
    sender: dict[str, Any] = {"id": oa.oa_id}
    if admin_id:
        sender["admin_id"] = admin_id
    return {"app_id": oa.app_id, "sender": sender, "user_id_by_app": user.user_id_by_app,
            "recipient": {"id": user.user_id}, "event_name": event_name, "message": message,
            "timestamp": str(now_ms())}


def zns_receipt_event(oa: OA, phone: str, zns_msg_id: str, tracking_id: str, delivered_at: int) -> dict[str, Any]:
    """ZNS ``user_received_message`` (§4.8): the recipient is the phone; ``delivery_time`` is
    the real receipt time; sent with ``X-ZEvent-Server: ZNS``."""
    return {"event_name": "user_received_message", "app_id": oa.app_id, "sender": {"id": oa.oa_id},
            "recipient": {"id": phone},
            "message": {"delivery_time": str(delivered_at), "msg_id": zns_msg_id, "tracking_id": tracking_id},
            "timestamp": str(now_ms())}


# ---- delivery -----------------------------------------------------------------------------

def _http(sim: SimState) -> httpx.AsyncClient:
    if sim.http is None or sim.http.is_closed:
        sim.http = httpx.AsyncClient(follow_redirects=False)
    return sim.http


def _summary(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]


async def deliver(sim: SimState, oa: OA, event: dict[str, Any], *, zns: bool = False) -> dict[str, Any]:
    """POST one event to the OA's webhook now; schedule Zalo's retries if it was not taken.

    Returns the delivery record: ``status_code`` and ``response`` of the first attempt.
    """
    body = encode(event)
    record: dict[str, Any] = {"seq": sim.next_seq(), "time": now_ms(), "tenant": oa.tenant, "oa_id": oa.oa_id,
                              "event_name": event.get("event_name"), "event": event, "url": oa.webhook,
                              "zns": zns, "attempts": [], "delivered": False, "status_code": None,
                              "response": None}
    sim.deliveries.append(record)
    del sim.deliveries[:-2000]  # keep the recent history only
    if not oa.webhook_enabled:
        record["error"] = "webhook disabled (event subscription cancelled after failed retries)"
        return record
    ok = await _attempt(sim, oa, record, body, 0)
    if not ok and sim.config.retry_delays:
        sim.spawn(_retry(sim, oa, record, body))
    return record


async def _attempt(sim: SimState, oa: OA, record: dict[str, Any], body: bytes, num_retry: int) -> bool:
    headers = {"Content-Type": "application/json",
               "X-ZEvent-Signature": signature(oa.app_id, body, record["event"]["timestamp"], oa.secret_key or ""),
               "User-Agent": "Zalo-Webhook (motcua simulator)"}
    if record["zns"]:
        headers["X-ZEvent-Server"] = "ZNS"
    if num_retry:
        headers["num_retry"] = str(num_retry)
    attempt: dict[str, Any] = {"time": now_ms(), "num_retry": num_retry}
    stats = sim.stats_for(oa.oa_id)
    try:
        response = await _http(sim).post(record["url"], content=body, headers=headers,
                                          timeout=sim.config.webhook_timeout)
        attempt["status_code"] = response.status_code
        attempt["response"] = _summary(response)
    except httpx.TimeoutException:
        attempt["error"] = f"no answer within {sim.config.webhook_timeout:g} s"
    except httpx.HTTPError as exc:
        attempt["error"] = f"{exc.__class__.__name__}: {exc}"
    record["attempts"].append(attempt)
    if num_retry == 0:
        record["status_code"] = attempt.get("status_code")
        record["response"] = attempt.get("response", attempt.get("error"))
    ok = attempt.get("status_code") == 200
    if ok:
        record["delivered"] = True
        stats.webhook_deliveries += 1
    else:
        stats.webhook_failures += 1
    return ok


async def _retry(sim: SimState, oa: OA, record: dict[str, Any], body: bytes) -> None:
    """Zalo re-sends the identical body after 30 s, 5 min, 15 min, 30 min and 1 h with a
    ``num_retry`` header, then cancels the app's event subscription. Which failures trigger a
    retry is UNCONFIRMED (§10.1); we retry on any answer but 200 and on no answer in time."""
    for n, delay in enumerate(sim.config.retry_delays, start=1):
        await asyncio.sleep(delay)
        if not oa.webhook_enabled:
            return
        if await _attempt(sim, oa, record, body, n):
            return
    oa.webhook_enabled = False
    record["error"] = "all retries failed: webhook disabled"
