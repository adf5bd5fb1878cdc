"""The fault switch, the counters, the Mini App graph endpoints, and when the simulator exists."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import httpx

from tests.sim.conftest import new_user


async def send_text(sim, tokens, user_id: str, text: str = "Xin chào") -> httpx.Response:
    return await sim.post("/sim/v3.0/oa/message/cs", headers={"access_token": tokens["access_token"]},
                          json={"recipient": {"user_id": user_id}, "message": {"text": text}})


async def test_5xx_for_a_number_of_calls_on_one_endpoint(sim, tokens, hook):
    user = await new_user(sim, last_interaction_ago=60)
    on = await sim.post("/sim/api/faults", json={"mode": "5xx", "count": 1, "endpoints": ["message/cs"]})
    assert on.json()["mode"] == "5xx"
    other = await sim.get("/sim/v2.0/oa/getoa", headers={"access_token": tokens["access_token"]})
    assert other.json()["error"] == 0  # a different endpoint is not hit
    first = await send_text(sim, tokens, user["user_id"])
    assert first.status_code == 502
    second = await send_text(sim, tokens, user["user_id"])
    assert second.status_code == 200 and second.json()["error"] == 0
    assert (await sim.get("/sim/api/faults")).json()["mode"] is None
    assert len((await sim.get("/sim/api/outbox", params={"user_id": user["user_id"]})).json()) == 1


async def test_quota_and_rate_limit_modes_until_cleared(sim, tokens, hook):
    user = await new_user(sim, last_interaction_ago=60)
    await sim.post("/sim/api/faults", json={"mode": "quota"})
    assert (await send_text(sim, tokens, user["user_id"])).json() == {"error": -211, "message": "Out of quota"}
    zns = await sim.post("/sim/message/template", headers={"access_token": tokens["access_token"]}, json={})
    assert zns.json()["error"] == -144
    await sim.post("/sim/api/faults", json={"mode": "rate_limit"})
    limited = await send_text(sim, tokens, user["user_id"])
    assert limited.status_code == 200 and limited.json()["error"] == -32
    assert (await sim.delete("/sim/api/faults")).json()["mode"] is None
    assert (await send_text(sim, tokens, user["user_id"])).json()["error"] == 0


async def test_a_fault_switches_itself_off_after_its_seconds(sim, tokens, hook):
    await sim.post("/sim/api/faults", json={"mode": "5xx", "seconds": 0.3})
    assert (await sim.get("/sim/v2.0/oa/getoa", headers={"access_token": tokens["access_token"]})).status_code == 502
    await asyncio.sleep(0.4)
    assert (await sim.get("/sim/v2.0/oa/getoa", headers={"access_token": tokens["access_token"]})).status_code == 200


async def test_timeout_holds_the_call_past_the_client_timeout(sim, tokens, hook, server):
    await sim.post("/sim/api/faults", json={"mode": "timeout", "delay": 1.0, "endpoints": ["oa/getoa"]})
    async with httpx.AsyncClient(base_url=server, timeout=0.3) as impatient:
        try:
            await impatient.get("/sim/v2.0/oa/getoa", headers={"access_token": tokens["access_token"]})
        except httpx.ReadTimeout:
            pass
        else:
            raise AssertionError("the call should have timed out")
    await sim.delete("/sim/api/faults")
    assert (await sim.get("/sim/v2.0/oa/getoa", headers={"access_token": tokens["access_token"]})).json()["error"] == 0


async def test_expired_token_fault_needs_exactly_one_refresh(sim, tokens, tenants, tenant_secrets, hook):
    user = await new_user(sim, last_interaction_ago=60)
    before = (await sim.get("/sim/api/stats")).json()["ca-mau"]
    r = await sim.post("/sim/api/faults", json={"mode": "expired_token", "tenant": "ca-mau"})
    assert r.json()["expired"] >= 1
    assert (await send_text(sim, tokens, user["user_id"])).json()["error"] == -220
    fresh = (await sim.post("/sim/v4/oa/access_token", headers={"secret_key": tenant_secrets["CA_MAU_ZALO_APP_SECRET"]},
                            data={"app_id": tenants["ca-mau"].file.zalo.app_id, "grant_type": "refresh_token",
                                  "refresh_token": tokens["refresh_token"]})).json()
    assert (await send_text(sim, {"access_token": fresh["access_token"]}, user["user_id"])).json()["error"] == 0
    after = (await sim.get("/sim/api/stats")).json()["ca-mau"]
    assert after["refresh_calls"] - before["refresh_calls"] == 1
    assert after["sends"].get("cs", 0) - before["sends"].get("cs", 0) == 1
    assert after["rejected"]["-220"] - before["rejected"].get("-220", 0) == 1


async def test_fault_input_is_checked(sim):
    bad = await sim.post("/sim/api/faults", json={"mode": "meteor"})
    assert bad.status_code == 400 and "mode" in bad.json()["detail"]
    assert (await sim.get("/sim/api/faults")).json()["mode"] is None
    assert (await sim.post("/sim/api/send", json={"tenant": "ca-mau", "type": "fax"})).status_code == 400
    assert (await sim.post("/sim/api/send", json={"tenant": "atlantis", "type": "text", "text": "a"})).status_code == 404


async def test_mini_app_identity_and_phone(sim, tenant_secrets):
    login = (await sim.post("/sim/api/miniapp/login", json={"tenant": "ca-mau", "display_name": "Phạm Thị Dung",
                                                            "phone": "0933444555"})).json()
    token = login["access_token"]
    secret = tenant_secrets["CA_MAU_ZALO_APP_SECRET"]
    proof = hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()
    me = (await sim.get("/sim/v2.0/me", params={"fields": "id,name,picture"},
                        headers={"access_token": token, "appsecret_proof": proof})).json()
    assert me["id"] == login["userInfo"]["id"] and me["name"] == "Phạm Thị Dung" and me["picture"]["data"]["url"]
    assert me["id"] != login["userInfo"]["idByOA"]  # per-app id, not the OA-scoped one
    no_proof = (await sim.get("/sim/v2.0/me", headers={"access_token": token})).json()
    assert no_proof["error"] != 0 and "id" not in no_proof
    bad_token = (await sim.get("/sim/v2.0/me", headers={"access_token": "nope", "appsecret_proof": proof})).json()
    assert bad_token["error"] != 0 and "id" not in bad_token

    code = (await sim.post("/sim/api/miniapp/phone_token", json={"access_token": token})).json()["token"]
    info = await sim.get("/sim/v2.0/me/info", headers={"access_token": token, "code": code, "secret_key": secret})
    assert info.json() == {"data": {"number": "84933444555"}, "error": 0, "message": "Success"}
    reused = await sim.get("/sim/v2.0/me/info", headers={"access_token": token, "code": code, "secret_key": secret})
    assert reused.json()["error"] != 0 and "data" not in reused.json()


def test_motcua_register_routes_adds_the_simulator_only_when_enabled(settings):
    from litestar import Router

    from motcua.plugins import RouteRegistry
    from motcua.sim.builtin import motcua_register_routes

    off = RouteRegistry(settings.replace(enable_simulator=False))
    motcua_register_routes(registry=off)
    assert list(off) == []
    on = RouteRegistry(settings.replace(enable_simulator=True))
    motcua_register_routes(registry=on)
    [router] = on
    assert isinstance(router, Router) and router.path == "/sim"


async def test_the_simulator_is_only_there_when_enabled(runtime, settings):
    from motcua.app import create_app

    def sim_paths(app):
        return [r.path for r in app.routes if r.path.startswith("/sim")]

    assert sim_paths(create_app(settings, runtime=runtime))
    assert sim_paths(create_app(settings.replace(enable_simulator=False), runtime=runtime)) == []


async def test_bad_citizen_input_changes_nothing(sim):
    user = (await sim.post("/sim/api/users", json={"tenant": "ca-mau", "display_name": "Ngô Văn Em"})).json()
    empty = await sim.post("/sim/api/send", json={"tenant": "ca-mau", "user_id": user["user_id"], "type": "text",
                                                  "text": " ", "display_name": "Tên khác"})
    assert empty.status_code == 400 and empty.json()["detail"] == "Tin nhắn trống."
    bad_phone = await sim.post("/sim/api/users", json={"tenant": "ca-mau", "user_id": user["user_id"], "phone": "12"})
    assert bad_phone.status_code == 400 and "Số điện thoại" in bad_phone.json()["detail"]
    assert (await sim.get(f"/sim/api/users/ca-mau/{user['user_id']}")).json() == user
    ghost = await sim.post("/sim/api/send", json={"tenant": "ca-mau", "user_id": "1000000000000000001",
                                                  "type": "location", "latitude": 200})
    assert ghost.status_code == 400
    assert (await sim.get("/sim/api/users/ca-mau/1000000000000000001")).status_code == 404
