"""OAuth v4 for OAs (zalo.md §2): consent with PKCE S256, code exchange, single-use refresh
tokens, token expiry, error bodies with HTTP 200."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import re
import secrets
from urllib.parse import parse_qs, urlsplit

from tests.sim.conftest import new_user

CALLBACK = "https://motcua.example.vn/zalo/oauth/callback"


def challenge(verifier: str) -> str:
    """RFC 7636 S256, computed here independently of the simulator."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_challenge_matches_the_rfc_vector():
    assert challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


async def consent(sim, app_id: str, code_challenge: str | None, state: str = "st-1") -> dict[str, str]:
    """Open the consent page as the OA admin, press "Cho phép", return the callback's query."""
    params = {"app_id": app_id, "redirect_uri": CALLBACK, "state": state}
    if code_challenge:
        params["code_challenge"] = code_challenge
    page = await sim.get("/sim/v4/oa/permission", params=params)
    assert page.status_code == 200 and "Cho phép" in page.text
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
    form = {k: html.unescape(v) for k, v in form.items()}
    r = await sim.post("/sim/v4/oa/permission", data=form, follow_redirects=False)
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(CALLBACK + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def exchange(sim, app_id: str, app_secret: str, **form: str):
    return await sim.post("/sim/v4/oa/access_token", headers={"secret_key": app_secret},
                          data={"app_id": app_id, **form})


async def test_code_flow_with_pkce(sim, tenants, tenant_secrets):
    zalo = tenants["ca-mau"].file.zalo
    secret = tenant_secrets["CA_MAU_ZALO_APP_SECRET"]
    verifier = secrets.token_urlsafe(32)
    back = await consent(sim, zalo.app_id, challenge(verifier), state="xyz")
    assert back["oa_id"] == zalo.oa_id and back["state"] == "xyz" and back["code"]

    wrong = await exchange(sim, zalo.app_id, secret, grant_type="authorization_code", code=back["code"],
                           code_verifier=secrets.token_urlsafe(32))
    assert wrong.status_code == 200
    assert wrong.json()["error"] == -14003 and wrong.json()["error_name"] == "Invalid code verifier"
    assert "access_token" not in wrong.json()

    ok = await exchange(sim, zalo.app_id, secret, grant_type="authorization_code", code=back["code"],
                        code_verifier=verifier)
    body = ok.json()
    assert ok.status_code == 200
    assert set(body) == {"access_token", "refresh_token", "expires_in"}
    assert body["expires_in"] == "90000"  # a string, 25 h
    detail = await sim.get("/sim/v2.0/oa/getoa", headers={"access_token": body["access_token"]})
    assert detail.json()["data"]["oa_id"] == zalo.oa_id

    again = await exchange(sim, zalo.app_id, secret, grant_type="authorization_code", code=back["code"],
                           code_verifier=verifier)
    assert again.status_code == 200 and "access_token" not in again.json() and again.json()["error"] < 0


async def test_a_code_issued_without_a_challenge_cannot_be_exchanged(sim, tenants, tenant_secrets):
    zalo = tenants["ca-mau"].file.zalo
    back = await consent(sim, zalo.app_id, None)
    r = await exchange(sim, zalo.app_id, tenant_secrets["CA_MAU_ZALO_APP_SECRET"], grant_type="authorization_code",
                       code=back["code"], code_verifier=secrets.token_urlsafe(32))
    assert r.json()["error"] == -14003


async def test_unknown_app_and_bad_redirect_are_refused_on_the_consent_page(sim, tenants):
    r = await sim.get("/sim/v4/oa/permission", params={"app_id": "1", "redirect_uri": CALLBACK, "code_challenge": "x"})
    assert "-14002" in r.text and "Cho phép" not in r.text
    r = await sim.get("/sim/v4/oa/permission", params={"app_id": tenants["ca-mau"].file.zalo.app_id,
                                                       "redirect_uri": "not a url", "code_challenge": "x"})
    assert "-14003" in r.text and "Cho phép" not in r.text


async def test_the_token_endpoint_wants_the_app_secret_header(sim, tenants, tenant_secrets, tokens):
    zalo = tenants["ca-mau"].file.zalo
    missing = await sim.post("/sim/v4/oa/access_token", data={"app_id": zalo.app_id, "grant_type": "refresh_token",
                                                              "refresh_token": tokens["refresh_token"]})
    assert missing.status_code == 404
    # The OA secret key is not the app secret (zalo.md §8.2).
    wrong = await exchange(sim, zalo.app_id, tenant_secrets["CA_MAU_ZALO_OA_SECRET_KEY"], grant_type="refresh_token",
                           refresh_token=tokens["refresh_token"])
    assert wrong.status_code == 200 and "access_token" not in wrong.json() and wrong.json()["error"] < 0
    # Neither attempt spent the refresh token.
    ok = await exchange(sim, zalo.app_id, tenant_secrets["CA_MAU_ZALO_APP_SECRET"], grant_type="refresh_token",
                        refresh_token=tokens["refresh_token"])
    assert "access_token" in ok.json()


async def test_refresh_tokens_work_once_and_rotate(sim, tenants, tenant_secrets, tokens):
    zalo = tenants["ca-mau"].file.zalo
    secret = tenant_secrets["CA_MAU_ZALO_APP_SECRET"]
    before = (await sim.get("/sim/api/stats")).json()["ca-mau"]["refresh_calls"]

    first = (await exchange(sim, zalo.app_id, secret, grant_type="refresh_token",
                            refresh_token=tokens["refresh_token"])).json()
    assert first["refresh_token"] != tokens["refresh_token"] and first["expires_in"] == "90000"

    reused = await exchange(sim, zalo.app_id, secret, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert reused.status_code == 200
    body = reused.json()
    assert "access_token" not in body and body["error"] < 0 and body["error_name"] == "Invalid refresh token"
    assert "used" in body["error_reason"]

    # The new access token works; the one it replaced does not (strict reading of §2.3).
    new = await sim.get("/sim/v2.0/oa/getoa", headers={"access_token": first["access_token"]})
    assert new.json()["error"] == 0
    old = await sim.get("/sim/v2.0/oa/getoa", headers={"access_token": tokens["access_token"]})
    assert old.status_code == 200 and old.json() == {"error": -216, "message": "Access token is invalid"}

    stats = (await sim.get("/sim/api/stats")).json()["ca-mau"]
    assert stats["refresh_calls"] - before == 2


async def test_concurrent_refreshes_with_one_token_leave_exactly_one_winner(sim, tenants, tenant_secrets, tokens):
    zalo = tenants["ca-mau"].file.zalo
    results = await asyncio.gather(*(exchange(sim, zalo.app_id, tenant_secrets["CA_MAU_ZALO_APP_SECRET"],
                                              grant_type="refresh_token", refresh_token=tokens["refresh_token"])
                                     for _ in range(4)))
    assert sum("access_token" in r.json() for r in results) == 1


async def test_access_tokens_expire(sim, tokens):
    user = await new_user(sim, last_interaction_ago=10)
    short = (await sim.post("/sim/api/tokens/ca-mau", json={"expires_in": 0.5})).json()
    assert short["expires_in"] <= 1
    query = {"data": '{"user_id":"%s"}' % user["user_id"]}
    ok = await sim.get("/sim/v3.0/oa/user/detail", params=query, headers={"access_token": short["access_token"]})
    assert ok.json()["error"] == 0
    await asyncio.sleep(0.6)
    expired = await sim.get("/sim/v3.0/oa/user/detail", params=query, headers={"access_token": short["access_token"]})
    assert expired.status_code == 200
    assert expired.json() == {"error": -220, "message": "access_token is expired or removed"}
    # ZNS has its own code for the same thing.
    zns = await sim.post("/sim/message/template", headers={"access_token": short["access_token"]}, json={})
    assert zns.status_code == 200 and zns.json()["error"] == -124
    # The refresh token of that pair still works.
    listed = {t["tenant"]: t for t in (await sim.get("/sim/api/tenants")).json()}
    assert listed["ca-mau"]["refresh_token"] == short["refresh_token"]


async def test_seeding_returns_the_current_pair_until_asked_to_rotate(sim, tokens):
    again = (await sim.post("/sim/api/tokens/ca-mau")).json()
    assert again["access_token"] == tokens["access_token"]
    rotated = (await sim.post("/sim/api/tokens/" + tokens["oa_id"], json={"rotate": True})).json()
    assert rotated["access_token"] != tokens["access_token"]
    missing = await sim.post("/sim/api/tokens/no-such-province")
    assert missing.status_code == 404 and "no-such-province" in missing.json()["detail"]
