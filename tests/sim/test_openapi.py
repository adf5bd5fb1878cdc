"""The fake OA Open API and ZNS answer like Zalo: HTTP 200 error bodies, the 7-day window,
following, text limits, rate limits, quotas, uploads, the outbox."""

from __future__ import annotations

import json
import unicodedata

import pytest

from tests.sim.conftest import new_user

DAY = 86_400


def text_to(user_id: str, text: str) -> dict:
    return {"recipient": {"user_id": user_id}, "message": {"text": text}}


async def cs(sim, tokens, body) -> dict:
    r = await sim.post("/sim/v3.0/oa/message/cs", headers={"access_token": tokens["access_token"]}, json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_reply_inside_the_window_is_accepted_and_lands_in_the_outbox(sim, tokens):
    user = await new_user(sim, last_interaction_ago=60)
    body = await cs(sim, tokens, text_to(user["user_id"], "Hồ sơ của anh/chị đã được tiếp nhận."))
    assert body["error"] == 0 and body["message"] == "Success"
    data = body["data"]
    assert data["user_id"] == user["user_id"] and data["quota"] == {"quota_type": "reply"}
    assert isinstance(data["message_id"], str) and data["sent_time"].isdigit()
    [item] = (await sim.get("/sim/api/outbox", params={"user_id": user["user_id"]})).json()
    assert item["channel"] == "cs" and item["recipient"] == user["user_id"] and item["msg_id"] == data["message_id"]
    assert item["content"] == {"text": "Hồ sơ của anh/chị đã được tiếp nhận."} and item["tenant"] == "ca-mau"
    newer = (await sim.get("/sim/api/outbox", params={"since": item["seq"]})).json()
    assert all(m["seq"] > item["seq"] for m in newer)


async def test_after_48_hours_the_reply_is_billed_and_after_7_days_refused(sim, tokens):
    billed = await new_user(sim, last_interaction_ago=3 * DAY)
    data = (await cs(sim, tokens, text_to(billed["user_id"], "Nhắc lịch hẹn")))["data"]
    assert "quota" not in data
    late = await new_user(sim, last_interaction_ago=8 * DAY)
    assert await cs(sim, tokens, text_to(late["user_id"], "Nhắc lịch hẹn")) == {
        "error": -230, "message": "User has not interacted with the OA in the past 7 days"}
    assert (await sim.get("/sim/api/outbox", params={"user_id": late["user_id"]})).json() == []


async def test_no_interaction_unknown_user_and_unfollowed_user_are_refused(sim, tokens):
    silent = await new_user(sim)
    assert (await cs(sim, tokens, text_to(silent["user_id"], "Xin chào")))["error"] == -232
    assert (await cs(sim, tokens, text_to("1234567890123456789", "Xin chào")))["error"] == -201
    uid = (await sim.post("/sim/api/send", json={"tenant": "ca-mau", "type": "follow"})).json()["user_id"]
    await sim.post("/sim/api/send", json={"tenant": "ca-mau", "user_id": uid, "type": "unfollow"})
    assert (await cs(sim, tokens, text_to(uid, "Xin chào")))["error"] == -213
    # Writing to the OA again opens the conversation again.
    await sim.post("/sim/api/send", json={"tenant": "ca-mau", "user_id": uid, "type": "text", "text": "Cho hỏi"})
    assert (await cs(sim, tokens, text_to(uid, "Dạ, anh/chị cần gì ạ?")))["error"] == 0


async def test_text_is_limited_to_2000_characters_counted_after_nfc(sim, tokens):
    user = await new_user(sim, last_interaction_ago=60)
    assert (await cs(sim, tokens, text_to(user["user_id"], "a" * 2000)))["error"] == 0
    assert (await cs(sim, tokens, text_to(user["user_id"], "a" * 2001)))["error"] == -210
    nfd = unicodedata.normalize("NFD", "ệ" * 1000)  # 3000 code points, 1000 characters
    assert len(nfd) > 2000
    assert (await cs(sim, tokens, text_to(user["user_id"], nfd)))["error"] == 0
    assert (await cs(sim, tokens, {"recipient": {"user_id": user["user_id"]}, "message": {"text": "  "}}))["error"] == -201


async def test_buttons_and_request_user_info_are_checked(sim, tokens):
    user = await new_user(sim, last_interaction_ago=60)
    buttons = [{"title": "Tra cứu hồ sơ", "type": "oa.query.show", "payload": "#tracuu"},
               {"title": "Cổng dịch vụ công", "type": "oa.open.url", "payload": {"url": "https://dichvucong.gov.vn"}}]
    ok = await cs(sim, tokens, {"recipient": {"user_id": user["user_id"]},
                                "message": {"text": "Anh/chị cần gì?", "attachment": {"type": "template",
                                                                                    "payload": {"buttons": buttons}}}})
    assert ok["error"] == 0
    too_many = await cs(sim, tokens, {"recipient": {"user_id": user["user_id"]},
                                      "message": {"text": "?", "attachment": {"type": "template",
                                                                              "payload": {"buttons": buttons * 3}}}})
    assert too_many["error"] == -201
    ask = {"type": "template", "payload": {"template_type": "request_user_info", "elements": [
        {"title": "Chia sẻ thông tin liên hệ", "subtitle": "Để nhận kết quả hồ sơ", "image_url": "https://example.vn/a.png"}]}}
    assert (await cs(sim, tokens, {"recipient": {"user_id": user["user_id"]}, "message": {"attachment": ask}}))["error"] == 0
    odd = {"type": "template", "payload": {"template_type": "carousel"}}
    assert (await cs(sim, tokens, {"recipient": {"user_id": user["user_id"]}, "message": {"attachment": odd}}))["error"] == -233
    shown = (await sim.get("/sim/api/transcript", params={"oa_id": "ca-mau", "user_id": user["user_id"]})).json()
    assert [e["kind"] for e in shown["entries"]] == ["text", "request_user_info"]
    assert shown["entries"][0]["buttons"][0] == {"title": "Tra cứu hồ sơ", "type": "oa.query.show", "payload": "#tracuu"}


PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360f8cff01f0005000201a5b6e1ce0000000049454e44ae426082")


async def test_upload_an_image_then_send_it_by_attachment_id(sim, tokens):
    headers = {"access_token": tokens["access_token"]}
    up = (await sim.post("/sim/v2.0/oa/upload/image", headers=headers, files={"file": ("a.png", PNG, "image/png")})).json()
    assert up["error"] == 0 and up["data"]["attachment_id"]
    bad = (await sim.post("/sim/v2.0/oa/upload/image", headers=headers,
                          files={"file": ("a.txt", b"hello", "image/png")})).json()
    assert bad == {"error": -201, "message": "file is invalid. We only support png and jpeg"}
    user = await new_user(sim, last_interaction_ago=60)
    media = {"type": "template", "payload": {"template_type": "media", "elements": [
        {"media_type": "image", "attachment_id": up["data"]["attachment_id"]}]}}
    sent = await cs(sim, tokens, {"recipient": {"user_id": user["user_id"]}, "message": {"text": "Ảnh", "attachment": media}})
    assert sent["error"] == 0
    [entry] = (await sim.get("/sim/api/transcript", params={"oa_id": "ca-mau", "user_id": user["user_id"]})).json()["entries"]
    image = await sim.get(entry["image_url"])
    assert image.status_code == 200 and image.content == PNG


async def test_user_detail_reads_the_data_parameter(sim, tokens):
    uid = (await sim.post("/sim/api/send", json={"tenant": "ca-mau", "type": "follow",
                                                 "display_name": "Lê Văn Cường"})).json()["user_id"]
    r = await sim.get("/sim/v3.0/oa/user/detail", params={"data": json.dumps({"user_id": uid})},
                      headers={"access_token": tokens["access_token"]})
    data = r.json()["data"]
    assert data["user_id"] == uid and data["display_name"] == "Lê Văn Cường" and data["user_is_follower"] is True
    assert len(data["user_last_interaction_date"].split("/")) == 3
    followers = (await sim.get("/sim/v2.0/oa/getfollowers", params={"data": '{"offset":0,"count":50}'},
                               headers={"access_token": tokens["access_token"]})).json()["data"]
    assert followers["total"] >= 1
    tag = await sim.post("/sim/v2.0/oa/tag/tagfollower", headers={"access_token": tokens["access_token"]},
                         json={"user_id": uid, "tag_name": "ho-so-dat-dai"})
    assert tag.json() == {"error": 0, "message": "Success"}
    tags = (await sim.get("/sim/v2.0/oa/tag/gettagsofoa", headers={"access_token": tokens["access_token"]})).json()
    assert "ho-so-dat-dai" in tags["data"]


async def test_the_legacy_and_discontinued_send_apis_say_so(sim, tokens):
    headers = {"access_token": tokens["access_token"]}
    v2 = (await sim.post("/sim/v2.0/oa/message", headers=headers, json={})).json()
    assert v2 == {"error": -240, "message": "MessageV2 API has been shut down, please switch to MessageV3"}
    assert (await sim.post("/sim/v3.0/oa/message/transaction", headers=headers, json={})).json()["error"] == -240
    empty = await sim.post("/sim/v3.0/oa/message", headers=headers, json={})
    assert empty.status_code == 404


async def test_per_app_rate_limit(sim, tokens, hook):
    await sim.post("/sim/api/oas/ca-mau", json={"rate_limit_per_minute": 3})
    headers = {"access_token": tokens["access_token"]}
    answers = [await sim.get("/sim/v2.0/oa/getoa", headers=headers) for _ in range(4)]
    assert [a.json()["error"] for a in answers] == [0, 0, 0, -32]
    assert [a.headers["x-ratelimit-remain"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[0].headers["x-ratelimit-limit"] == "3"


@pytest.fixture
async def zns(sim, tokens, tenants, hook):
    async def send(**body):
        payload = {"phone": "0987654321", "template_id": tenants["ca-mau"].file.zalo.zns_templates["resolved"],
                   "tracking_id": "t-1", "template_data": {"ma_ho_so": "000.00.07.H12-251119-0001"}, **body}
        r = await sim.post("/sim/message/template", headers={"access_token": tokens["access_token"]}, json=payload)
        assert r.status_code == 200
        return r.json()
    return send


async def test_zns_send_by_phone(sim, zns):
    body = await zns(phone="+84 987 654 321", tracking_id="hs-42")
    assert body["error"] == 0
    data = body["data"]
    assert len(data["msg_id"]) == 20 and data["sent_time"].isdigit()
    assert set(data["quota"]) == {"dailyQuota", "remainingQuota"} and all(isinstance(v, str) for v in data["quota"].values())
    [item] = [m for m in (await sim.get("/sim/api/outbox", params={"channel": "zns"})).json() if m["msg_id"] == data["msg_id"]]
    assert item["recipient"] == "84987654321" and item["tracking_id"] == "hs-42"


async def test_zns_refusals(sim, zns):
    assert (await zns(phone="12345"))["error"] == -108
    assert (await zns(template_id="999999"))["error"] == -109
    assert (await zns(template_data={}))["error"] == -111
    assert (await zns(template_data={"ly_do": "x" * 401}))["error"] == -1121
    assert (await zns(mode="development"))["error"] == -127
    await sim.post("/sim/api/oas/ca-mau", json={"no_zalo_phones": ["0900000001"]})
    assert (await zns(phone="0900000001"))["error"] == -118


async def test_zns_daily_quota(sim, zns, tokens):
    await sim.post("/sim/api/oas/ca-mau", json={"zns_daily_quota": 2})
    assert [(await zns())["error"] for _ in range(3)] == [0, 0, -144]
    quota = (await sim.get("/sim/message/quota", headers={"access_token": tokens["access_token"]})).json()
    assert quota["data"] == {"dailyQuota": "2", "remainingQuota": "0"}


async def test_zns_reaches_the_citizen_with_that_phone(sim, zns):
    user = await new_user(sim, phone="0911222333")
    body = await zns(phone="84911222333")
    entries = (await sim.get("/sim/api/transcript", params={"oa_id": "ca-mau", "user_id": user["user_id"]})).json()["entries"]
    assert [(e["kind"], e["msg_id"]) for e in entries] == [("zns", body["data"]["msg_id"])]
    assert "000.00.07.H12-251119-0001" in entries[0]["text"]
