"""The Mini App back end answers exactly what Zalo's E-Government template sends.

Request shapes are copied from the template's ``src/service/services.ts`` and ``request.ts``
(Zalo-MiniApp/zaui-egovernment): the same paths at the root, the same query parameters
(``pargeSize``, sic), headers (``Authorization: Bearer``, ``x-organization-id``) and JSON bodies;
answers are read the way the template reads them (``{err, message, data}``; it throws when
``data`` is missing; ``err = -115`` means sign in again)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

TENANT = "ca-mau"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360f8cff01f0005000201a5b6e1ce0000000049454e44ae426082")


def data_of(resp: httpx.Response):
    """What the template's ``request<T>()`` returns, or the error it throws."""
    body = resp.json()
    assert set(body) >= {"err", "message", "data"}, body
    if body["err"] or not body["data"] and body["data"] != []:
        raise AssertionError({"code": body["err"], "message": body["message"]})
    return body["data"]


@pytest.fixture
async def user(http, connected):
    """A citizen signed in to the Mini App: ``getAccessToken()`` on their phone (the simulator)."""
    r = await http.post("/sim/api/miniapp/login", json={"tenant": TENANT, "display_name": "Trần Thị Bình"})
    assert r.status_code == 200, r.text
    return r.json()


def auth(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {user['access_token']}"}


async def test_get_organization_by_mini_app_id(http, user, tenants):
    # request("GET", "/get_organization_api", { miniAppId })
    r = await http.get("/get_organization_api", params={"miniAppId": tenants[TENANT].file.zalo.mini_app_id},
                       headers=auth(user))
    org = data_of(r)
    assert org["id"] == TENANT and org["name"] == "Tỉnh Cà Mau"
    assert org["description"]
    oa = org["officialAccounts"][0]
    assert oa["oaId"] == tenants[TENANT].file.zalo.oa_id and oa["follow"] is False and oa["name"]


async def test_unknown_mini_app_gets_a_clear_error(http):
    body = (await http.get("/get_organization_api", params={"miniAppId": "42"})).json()
    assert body["err"] != 0 and body["data"] is None and "Mini App" in body["message"]


async def test_a_bad_token_asks_the_template_to_sign_in_again(http, connected):
    # request.ts: resData.err === UNAUTHORIZED (-115) -> getToken() again
    r = await http.get("/get_schedule_api", headers={"Authorization": "Bearer not-a-token",
                                                     "x-organization-id": TENANT})
    assert r.json()["err"] == -115
    r = await http.get("/get_schedule_api", headers={"x-organization-id": TENANT})
    assert r.json()["err"] == -115


async def test_search_profiles_by_code_shows_what_the_receipt_holder_may_see(http, user, sandbox):
    control = sandbox(TENANT)
    dossier = await control.create(procedure_code="1.001193", status="processing")
    code = dossier["code"]
    # request("GET", "/search_profiles_api", { profileCode, organizationId }, { x-organization-id })
    r = await http.get("/search_profiles_api", params={"profileCode": code.lower(), "organizationId": TENANT},
                       headers={**auth(user), "x-organization-id": TENANT})
    profiles = data_of(r)
    assert len(profiles) == 1
    p = profiles[0]
    assert p["profileCode"] == code
    assert isinstance(p["dueDate"], int) and p["dueDate"] > 10**12  # epoch milliseconds
    assert p["notifications"][0]["message"] == "Hồ sơ đang được giải quyết."
    # Personal details are masked for a lookup by code.
    full = dossier.get("applicant_name") or ""
    if full and len(full.split()) > 1:
        assert p["name"] != full and p["name"].split()[0] == full.split()[0]
    # Not found: an empty list (the template shows "Không tìm thấy thông tin").
    r = await http.get("/search_profiles_api", params={"profileCode": "000.00.07.H12-991231-9999",
                                                       "organizationId": TENANT},
                       headers={**auth(user), "x-organization-id": TENANT})
    assert data_of(r) == []


async def test_search_is_rate_limited_per_user_per_day(http, user, runtime):
    async with runtime.db.tenant(TENANT) as conn:
        await conn.execute("""INSERT INTO miniapp_usage (tenant_id, zalo_id, day, action, count)
                              SELECT $1, id, current_date, 'search', 30 FROM (SELECT $2::text AS id) u
                              ON CONFLICT (tenant_id, zalo_id, day, action) DO UPDATE SET count = 30""",
                           TENANT, user["userInfo"]["id"])
    r = await http.get("/search_profiles_api", params={"profileCode": "000.00.07.H12-251119-0001",
                                                       "organizationId": TENANT},
                       headers={**auth(user), "x-organization-id": TENANT})
    assert r.json()["err"] == -117  # RATE_LIMIT_CODE in the template's constants/error.ts


async def test_articles_found_by_host_name_with_parge_size_and_epoch_ms(http, runtime):
    async with runtime.db.tenant(TENANT) as conn:
        await conn.execute("DELETE FROM news WHERE tenant_id = $1", TENANT)
        for i in range(3):
            await conn.execute(
                """INSERT INTO news (tenant_id, title, summary, link, image_url, published_at)
                   VALUES ($1, $2, 'Tóm tắt', 'https://camau.gov.vn/tin', 'https://camau.gov.vn/a.jpg',
                           now() - make_interval(hours => $3))""", TENANT, f"Tin số {i}", i)
        await conn.execute("INSERT INTO news (tenant_id, title, published_at) VALUES ($1, 'Bản nháp', NULL)", TENANT)
    # generatePath(API.GET_ARTICLES, {id}) leaves the path as is; request("GET", url, {page, pargeSize})
    # and no organisation header: the host the province's Mini App points at names the tenant.
    r = await http.get("/get_articles_api", params={"page": 1, "pargeSize": 2}, headers={"Host": "zalo.camau.gov.vn"})
    page = data_of(r)
    assert page["current"] == 1 and page["pageSize"] == 2 and page["total"] == 3
    assert [a["title"] for a in page["data"]] == ["Tin số 0", "Tin số 1"]
    a = page["data"][0]
    assert set(a) >= {"id", "title", "thumb", "createdAt", "desc", "link"}
    assert abs(a["createdAt"] / 1000 - datetime.now().timestamp()) < 120
    r = await http.get("/get_articles_api", params={"page": 2, "pargeSize": 2}, headers={"Host": "zalo.camau.gov.vn"})
    assert [a["title"] for a in data_of(r)["data"]] == ["Tin số 2"]


async def test_information_guide_and_feedback_types(http, runtime):
    async with runtime.db.tenant(TENANT) as conn:
        await conn.execute("DELETE FROM faq WHERE tenant_id = $1", TENANT)
        await conn.execute("""INSERT INTO faq (tenant_id, question, answer, position) VALUES
                              ($1, 'Làm khai sinh ở đâu?', 'Tại UBND xã, phường nơi cư trú.', 1),
                              ($1, 'Có mất phí không?', 'Miễn lệ phí khi đăng ký đúng hạn.', 2)""", TENANT)
    headers = {"x-organization-id": TENANT}
    # request("GET", API.INFORMATION_GUIDE, {page, pargeSize}, {x-organization-id})
    guide = data_of(await http.get("/information_guide_api", params={"page": 0, "pargeSize": 10}, headers=headers))
    assert guide["total"] == 2 and guide["current"] == 0
    assert guide["data"][0] == {"id": guide["data"][0]["id"], "question": "Làm khai sinh ở đâu?",
                                "answer": "Tại UBND xã, phường nơi cư trú."}
    types = data_of(await http.get("/feedback_types_api", headers=headers))
    assert all(set(t) == {"id", "title", "order"} for t in types)
    assert any(t["title"] == "Đất đai" for t in types)


async def test_upload_image_then_create_feedback_with_it(http, user, runtime):
    headers = {"x-organization-id": TENANT}
    # openMediaPicker({serverUploadUrl: BASE_URL + "/upload_image_api"}) -> JSON {data: {domain, images}}
    r = await http.post(f"/miniapp/{TENANT}/upload_image_api", files={"file": ("anh.png", PNG, "image/png")})
    uploaded = data_of(r)
    assert uploaded["domain"].endswith(f"/miniapp/{TENANT}/images/") and len(uploaded["images"]) == 1
    name = uploaded["images"][0]
    img = await http.get(uploaded["domain"].split("://", 1)[1].split("/", 1)[1].join(["/", ""]) + name)
    assert img.status_code == 200 and img.content == PNG
    # Content, not the name, decides: HTML dressed as an image is refused and nothing is stored.
    bad = await http.post(f"/miniapp/{TENANT}/upload_image_api",
                          files={"file": ("anh.jpg", b"<html><script>alert(1)</script>", "image/jpeg")})
    assert bad.json()["err"] != 0 and bad.json()["data"] is None
    types = data_of(await http.get("/feedback_types_api", headers=headers))
    land = next(t["id"] for t in types if t["title"] == "Đất đai")
    # createFeedback: request("POST", API.FEEDBACK, {token, title, content, feedBackTypeId, imageUrls}, header)
    body = {"token": "", "title": "Lấn chiếm đất công", "content": "Có người lấn chiếm đất công ở khóm 3, phường An Xuyên.",
            "feedbackTypeId": land, "imageUrls": [name]}
    created = await http.post("/feedback_api", json=body, headers={**auth(user), **headers})
    assert data_of(created) is True
    async with runtime.db.tenant(TENANT) as conn:
        row = await conn.fetchrow("SELECT category, channel, agency_code, data FROM feedback WHERE tenant_id = $1 "
                                  "ORDER BY id DESC LIMIT 1", TENANT)
    assert row["category"] == "dat-dai" and row["channel"] == "miniapp"
    assert row["agency_code"] == "000.00.13.H12"  # routed by the tenant's rules
    assert row["data"]["photos"] == [f"/miniapp/{TENANT}/images/{name}"]
    # An image name that was never uploaded is refused.
    forged = await http.post("/feedback_api", json={**body, "imageUrls": ["../../etc/passwd"]},
                             headers={**auth(user), **headers})
    assert forged.json()["err"] != 0


async def test_feedback_list_shows_published_answers_without_personal_data(http, runtime):
    async with runtime.db.tenant(TENANT) as conn:
        await conn.execute(
            """INSERT INTO feedback (tenant_id, channel, category, title, content, status, answer, answered_at,
                                     published, data)
               VALUES ($1, 'zalo', 'moi-truong', 'Rác thải', 'Rác ở chợ, gọi tôi 0912345678', 'answered',
                       'Đã thu gom.', now(), true, '{}'),
                      ($1, 'zalo', 'khac', 'Chưa trả lời', 'Nội dung chưa trả lời', 'received', NULL, NULL, false, '{}')""",
            TENANT)
    # request("GET", API.FEEDBACK, {page, pargeSize}, {x-organization-id})
    page = data_of(await http.get("/feedback_api", params={"page": 0, "pargeSize": 10},
                                  headers={"x-organization-id": TENANT}))
    titles = [f["title"] for f in page["data"]]
    assert "Rác thải" in titles and "Chưa trả lời" not in titles
    item = next(f for f in page["data"] if f["title"] == "Rác thải")
    assert item["response"] == "Đã thu gom." and item["type"] == "Môi trường"
    assert "0912345678" not in item["content"]
    assert isinstance(item["creationTime"], int) and isinstance(item["responseTime"], int)


async def test_appointment_booking_with_queue_numbers(http, connected):
    headers = {"x-organization-id": TENANT}
    day = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date() + timedelta(days=3)
    if day.weekday() == 6:
        day += timedelta(days=1)
    mdy = day.strftime("%m-%d-%Y")  # formatDate(rest.date, "mm-dd-yyyy")
    numbers = []
    for name in ("Lê Văn Cường", "Phạm Thị Dung"):
        login = (await http.post("/sim/api/miniapp/login", json={"tenant": TENANT, "display_name": name})).json()
        h = {**auth(login), **headers}
        # No appointment yet: data is missing, the template's getSchedule() ends with schedule undefined.
        none = (await http.get("/get_schedule_api", headers=h)).json()
        assert none["data"] is None and none["err"] != -115
        # createWorkSchedule: request("POST", API.CREATE_SCHEDULE, {date, fullName, content, phoneNumber}, header)
        body = {"date": mdy, "fullName": name, "content": "Nộp hồ sơ đăng ký kết hôn", "phoneNumber": "0912 345 678"}
        made = data_of(await http.post("/create_schedule_api", json=body, headers=h))
        assert made["date"] == mdy and made["status"] == "pending" and made["organizationId"] == TENANT
        # Booking twice the same day keeps the first number.
        again = data_of(await http.post("/create_schedule_api", json=body, headers=h))
        assert again["yourNumber"] == made["yourNumber"]
        got = data_of(await http.get("/get_schedule_api", headers=h))
        assert got["yourNumber"] == made["yourNumber"] and got["fullName"] == name
        assert set(got) >= {"fullName", "yourNumber", "currentNumber", "date", "content", "phoneNumber", "status"}
        numbers.append(made["yourNumber"])
    assert numbers[1] == numbers[0] + 1
    past = (date.today() - timedelta(days=2)).strftime("%m-%d-%Y")
    bad = await http.post("/create_schedule_api", json={"date": past, "fullName": "A", "content": "x",
                                                        "phoneNumber": "0912345678"},
                          headers={**auth(login), **headers})
    assert bad.json()["err"] != 0 and "đã qua" in bad.json()["message"]
