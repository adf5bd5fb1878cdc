"""Webhooks as Zalo delivers them: envelope, X-ZEvent-Signature per zalo.md §3.3, retries."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re

import pytest

from tests.sim.conftest import new_user


def documented_mac(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """zalo.md §3.3, written out again here: plain SHA-256 of app id + raw body + the body's
    timestamp + the OA secret key, lowercase hex, behind ``mac=``."""
    return "mac=" + hashlib.sha256(f"{app_id}".encode() + raw_body + timestamp.encode()
                                   + oa_secret_key.encode()).hexdigest()


async def test_the_simulator_knows_each_demo_oa_with_the_secrets_motcua_stored(sim, tenants, tenant_secrets, server):
    listed = {t["tenant"]: t for t in (await sim.get("/sim/api/tenants")).json()}
    ca_mau = tenants["ca-mau"].file.zalo
    assert listed["ca-mau"]["oa_id"] == ca_mau.oa_id
    assert listed["ca-mau"]["app_id"] == ca_mau.app_id
    assert listed["ca-mau"]["secret_key"] == tenant_secrets["CA_MAU_ZALO_OA_SECRET_KEY"]
    assert listed["ca-mau"]["app_secret"] == tenant_secrets["CA_MAU_ZALO_APP_SECRET"]
    assert listed["ca-mau"]["webhook_url"] == f"{server}/zalo/ca-mau/webhook"
    assert {"ca-mau", "an-giang", "dong-nai"} <= set(listed)


async def test_a_citizen_text_arrives_signed_as_documented(sim, hook, tenants, tenant_secrets):
    r = await sim.post("/sim/api/send", json={"tenant": "ca-mau", "type": "text", "text": "Tra cứu hồ sơ 000.00.07.H12-251119-0001"})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["status_code"] == 200 and result["delivered"] is True
    [got] = hook.requests
    raw = got["body"]
    event = json.loads(raw)
    zalo = tenants["ca-mau"].file.zalo
    assert got["headers"]["content-type"] == "application/json"
    assert got["headers"]["x-zevent-signature"] == documented_mac(
        zalo.app_id, raw, event["timestamp"], tenant_secrets["CA_MAU_ZALO_OA_SECRET_KEY"])
    # The usual mistakes must not verify: HMAC, the app secret, a re-serialised body.
    secret = tenant_secrets["CA_MAU_ZALO_OA_SECRET_KEY"]
    wrong = {
        "hmac": "mac=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(),
        "app secret": documented_mac(zalo.app_id, raw, event["timestamp"], tenant_secrets["CA_MAU_ZALO_APP_SECRET"]),
        "reserialised": documented_mac(zalo.app_id, json.dumps(event).encode(), event["timestamp"], secret),
    }
    assert got["headers"]["x-zevent-signature"] not in wrong.values()
    # The envelope (§3.4): ids as strings, user -> OA, epoch-ms timestamp string.
    assert event["event_name"] == "user_send_text"
    assert event["app_id"] == zalo.app_id
    assert event["sender"] == {"id": result["user_id"]} and event["recipient"] == {"id": zalo.oa_id}
    assert re.fullmatch(r"\d{19}", event["sender"]["id"]) and int(event["sender"]["id"]) > 2**53
    assert isinstance(event["user_id_by_app"], str)
    assert event["message"]["text"] == "Tra cứu hồ sơ 000.00.07.H12-251119-0001"
    assert isinstance(event["message"]["msg_id"], str) and event["message"]["msg_id"]
    assert re.fullmatch(r"\d{13}", event["timestamp"])
    assert "num_retry" not in got["headers"]
    assert result["event"] == event


async def test_follow_image_location_and_submit_info_envelopes(sim, hook):
    user = (await sim.post("/sim/api/send", json={"tenant": "ca-mau", "type": "follow"})).json()
    uid = user["user_id"]
    for body in ({"type": "image"}, {"type": "location", "latitude": 9.18, "longitude": 105.15},
                 {"type": "submit_info", "info": {"name": "Trần Thị Bình", "phone": "0912345678",
                                                   "city": "Cà Mau", "ward": "Phường An Xuyên", "address": "12 Lý Thường Kiệt"}},
                 {"type": "unfollow"}):
        r = await sim.post("/sim/api/send", json={"tenant": "ca-mau", "user_id": uid, **body})
        assert r.status_code == 200 and r.json()["delivered"], r.text
    follow, image, location, info, unfollow = [e["event"] for e in hook.events()]
    assert follow["event_name"] == "follow" and follow["follower"] == {"id": uid} and follow["source"] == "oa_profile"
    assert "sender" not in follow and follow["oa_id"] == hook.events()[0]["event"]["oa_id"]
    [attachment] = image["message"]["attachments"]
    assert attachment["type"] == "image" and attachment["payload"]["url"].startswith("http")
    coords = location["message"]["attachments"][0]["payload"]["coordinates"]
    assert coords == {"latitude": "9.18", "longitude": "105.15"}
    assert info["event_name"] == "user_submit_info" and info["sender"] == {"id": uid}
    assert info["info"]["phone"] == "84912345678" and info["info"]["full_address"]["user_ward"] == "Phường An Xuyên"
    assert unfollow["event_name"] == "unfollow" and unfollow["follower"] == {"id": uid}
    # A second unfollow is not an event Zalo sends.
    again = (await sim.post("/sim/api/send", json={"tenant": "ca-mau", "user_id": uid, "type": "unfollow"})).json()
    assert again["event"] is None and len(hook.requests) == 5


async def test_a_button_tap_sends_its_payload_as_user_text(sim, hook):
    r = await sim.post("/sim/api/send", json={"tenant": "ca-mau", "type": "click", "payload": "#tracuu"})
    event = r.json()["event"]
    assert event["event_name"] == "user_send_text" and event["message"]["text"] == "#tracuu"


async def test_chatnow_is_flat_and_sent_once_to_someone_who_never_chatted(sim, hook):
    first = (await sim.post("/sim/api/send", json={"tenant": "ca-mau", "type": "chatnow"})).json()
    event = first["event"]
    assert event["event_name"] == "user_click_chatnow" and event["user_id"] == first["user_id"]
    assert "sender" not in event and event["oa_id"]
    second = (await sim.post("/sim/api/send", json={"tenant": "ca-mau", "type": "chatnow",
                                                    "user_id": first["user_id"]})).json()
    assert second["event"] is None


async def test_failed_delivery_is_retried_with_the_same_body_and_num_retry_then_disabled(sim, hook):
    await sim.post("/sim/api/config", json={"retry_delays": [0.1, 0.1]})
    hook.status = 500
    r = (await sim.post("/sim/api/send", json={"tenant": "ca-mau", "type": "text", "text": "xin chào"})).json()
    assert r["status_code"] == 500 and r["delivered"] is False
    for _ in range(100):
        if len(hook.requests) >= 3:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    assert len(hook.requests) == 3
    assert {req["body"] for req in hook.requests} == {hook.requests[0]["body"]}
    assert [req["headers"].get("num_retry") for req in hook.requests] == [None, "1", "2"]
    assert [req["headers"]["x-zevent-signature"] for req in hook.requests].count(
        hook.requests[0]["headers"]["x-zevent-signature"]) == 3
    listed = {t["tenant"]: t for t in (await sim.get("/sim/api/tenants")).json()}
    assert listed["ca-mau"]["webhook_enabled"] is False
    # While disabled nothing is posted; re-registering the URL subscribes again.
    hook.status = 200
    off = (await sim.post("/sim/api/send", json={"tenant": "ca-mau", "type": "text", "text": "còn đó không?"})).json()
    assert off["delivered"] is False and "disabled" in off["error"] and len(hook.requests) == 3
    await sim.post("/sim/api/oas/ca-mau", json={"webhook_url": hook.url})
    on = (await sim.post("/sim/api/send", json={"tenant": "ca-mau", "type": "text", "text": "còn đó không?"})).json()
    assert on["delivered"] is True


async def test_a_retry_that_succeeds_stops_the_ladder(sim, hook):
    await sim.post("/sim/api/config", json={"retry_delays": [0.1, 0.1, 0.1]})
    hook.statuses = [503]
    r = (await sim.post("/sim/api/send", json={"tenant": "ca-mau", "type": "text", "text": "thử lại"})).json()
    assert r["status_code"] == 503
    await asyncio.sleep(0.6)
    assert [req["headers"].get("num_retry") for req in hook.requests] == [None, "1"]
    [delivery] = [d for d in (await sim.get("/sim/api/deliveries", params={"since": r["delivery_seq"] - 1})).json()
                  if d["seq"] == r["delivery_seq"]]
    assert delivery["delivered"] is True and [a["status_code"] for a in delivery["attempts"]] == [503, 200]


async def test_an_answer_slower_than_the_timeout_counts_as_failed(sim, hook):
    await sim.post("/sim/api/config", json={"webhook_timeout": 0.2, "retry_delays": []})
    hook.delay = 0.5
    r = (await sim.post("/sim/api/send", json={"tenant": "ca-mau", "type": "text", "text": "chậm"})).json()
    assert r["delivered"] is False and r["status_code"] is None and "0.2 s" in r["response"]


@pytest.mark.parametrize("event_name", ["oa_send_text", "user_received_message"])
async def test_cs_messages_are_echoed_and_received(sim, hook, tokens, event_name):
    await sim.post("/sim/api/oas/ca-mau", json={"echoes": True, "receipts": True})
    await sim.post("/sim/api/config", json={"receipt_delay": 0.0})
    user = await new_user(sim, last_interaction_ago=60)
    r = await sim.post("/sim/v3.0/oa/message/cs", headers={"access_token": tokens["access_token"]},
                       json={"recipient": {"user_id": user["user_id"]}, "message": {"text": "Chào anh/chị"}})
    mid = r.json()["data"]["message_id"]
    [got] = await hook.wait_for(event_name)
    event = got["event"]
    assert event["sender"] == {"id": tokens["oa_id"]}  # OA -> user: swapped, and no admin_id for API sends
    assert event["recipient"] == {"id": user["user_id"]}
    assert event["message"]["msg_id"] == mid
    if event_name == "oa_send_text":
        assert event["message"]["text"] == "Chào anh/chị"


async def test_zns_receipt_is_signed_and_marked_as_zns(sim, hook, tokens, tenants, tenant_secrets):
    await sim.post("/sim/api/oas/ca-mau", json={"receipts": True})
    await sim.post("/sim/api/config", json={"receipt_delay": 0.0})
    template = tenants["ca-mau"].file.zalo.zns_templates["received"]
    r = await sim.post("/sim/message/template", headers={"access_token": tokens["access_token"]},
                       json={"phone": "0912000111", "template_id": template, "tracking_id": "hs-0001-received",
                             "template_data": {"ma_ho_so": "000.00.07.H12-251119-0001"}})
    body = r.json()
    assert body["error"] == 0, body
    [got] = await hook.wait_for("user_received_message")
    event = got["event"]
    assert got["headers"]["x-zevent-server"] == "ZNS"
    assert got["headers"]["x-zevent-signature"] == documented_mac(
        event["app_id"], got["body"], event["timestamp"], tenant_secrets["CA_MAU_ZALO_OA_SECRET_KEY"])
    assert event["recipient"] == {"id": "84912000111"} and event["sender"] == {"id": tokens["oa_id"]}
    assert event["message"]["msg_id"] == body["data"]["msg_id"]
    assert event["message"]["tracking_id"] == "hs-0001-received"
    assert re.fullmatch(r"\d{13}", event["message"]["delivery_time"])


@pytest.mark.parametrize("tenant", ["ca-mau", "an-giang"])
async def test_motcuas_own_webhook_accepts_what_the_simulator_signs(sim, tenant, server):
    """The two sides of the contract meet: Motcua's endpoint verifies our signature (and a
    wrong one would be refused with 401, so a 200 here means it checked and agreed)."""
    listed = {t["tenant"]: t for t in (await sim.get("/sim/api/tenants")).json()}
    assert listed[tenant]["webhook_url"] == f"{server}/zalo/{tenant}/webhook"
    r = (await sim.post("/sim/api/send", json={"tenant": tenant, "type": "text", "text": "Xin chào Motcua"})).json()
    assert r["status_code"] == 200, r
