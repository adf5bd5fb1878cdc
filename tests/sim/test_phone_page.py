"""The phone page in a real browser (Debian's chromium through Playwright): pick an OA, follow
it, chat, share info, tap a button, and see the OA's messages arrive live."""

from __future__ import annotations

import pytest

from tests.conftest import requires_chromium

pytestmark = requires_chromium


@pytest.fixture
async def page(browser, sim, hook, server):
    context = await browser.new_context(viewport={"width": 400, "height": 800})
    pg = await context.new_page()
    await pg.goto(f"{server}/sim/")
    yield pg
    await context.close()


async def open_ca_mau(page, tenants):
    await page.click(f'.oa[data-tenant="ca-mau"]')
    await page.wait_for_selector("#composer:not(.hidden)")
    assert await page.inner_text("#title") == tenants["ca-mau"].file.zalo.oa_name
    await page.wait_for_function("document.body.dataset.userId")
    return await page.evaluate("document.body.dataset.userId")


async def test_follow_and_chat_as_a_citizen(page, tenants, hook):
    assert await page.locator(".oa").count() >= 3
    user_id = await open_ca_mau(page, tenants)
    await page.click("#follow")
    await page.wait_for_selector("#follow.following")
    await page.fill("#text", "Cho tôi hỏi hồ sơ khai sinh")
    await page.press("#text", "Enter")
    bubble = page.locator(".msg.in", has_text="Cho tôi hỏi hồ sơ khai sinh")
    await bubble.wait_for()
    await page.locator(".msg.in .meta", has_text="Đã gửi").wait_for()
    follow, text = [e["event"] for e in hook.events()]
    assert follow["event_name"] == "follow" and follow["follower"]["id"] == user_id
    assert text["event_name"] == "user_send_text" and text["sender"]["id"] == user_id
    assert text["message"]["text"] == "Cho tôi hỏi hồ sơ khai sinh"


async def test_oa_messages_and_zns_show_up_live_and_buttons_answer(page, tenants, hook, sim, tokens):
    user_id = await open_ca_mau(page, tenants)
    await page.click("#follow")
    await page.wait_for_selector("#follow.following")
    phone = await page.evaluate("JSON.parse(localStorage.getItem('sim.me')).phone")
    buttons = [{"title": "Tra cứu hồ sơ", "type": "oa.query.show", "payload": "#tracuu"}]
    r = await sim.post("/sim/v3.0/oa/message/cs", headers={"access_token": tokens["access_token"]},
                       json={"recipient": {"user_id": user_id},
                             "message": {"text": "Chào anh/chị, Trung tâm có thể giúp gì?",
                                         "attachment": {"type": "template", "payload": {"buttons": buttons}}}})
    assert r.json()["error"] == 0
    reply = page.locator(".msg.out", has_text="Trung tâm có thể giúp gì?")
    await reply.wait_for(timeout=5000)
    await reply.locator("button.action", has_text="Tra cứu hồ sơ").click()
    [tap] = await hook.wait_for("user_send_text")
    assert tap["event"]["message"]["text"] == "#tracuu" and tap["event"]["sender"]["id"] == user_id
    # The phone saw the reply, so Zalo reports it seen.
    [seen] = await hook.wait_for("user_seen_message")
    assert seen["event"]["message"]["msg_ids"] == [r.json()["data"]["message_id"]]

    zns = await sim.post("/sim/message/template", headers={"access_token": tokens["access_token"]},
                         json={"phone": phone, "template_id": tenants["ca-mau"].file.zalo.zns_templates["resolved"],
                               "tracking_id": "browser-1", "template_data": {"ma_ho_so": "000.00.07.H12-251119-0009"}})
    assert zns.json()["error"] == 0
    await page.locator(".msg.zns", has_text="000.00.07.H12-251119-0009").wait_for(timeout=5000)


async def test_share_info_when_the_oa_asks(page, tenants, hook, sim, tokens):
    user_id = await open_ca_mau(page, tenants)
    await page.fill("#text", "Tôi muốn nhận kết quả qua bưu điện")
    await page.press("#text", "Enter")
    await hook.wait_for("user_send_text")
    ask = {"type": "template", "payload": {"template_type": "request_user_info", "elements": [
        {"title": "Chia sẻ địa chỉ nhận kết quả", "subtitle": "Trung tâm gửi kết quả qua bưu điện"}]}}
    r = await sim.post("/sim/v3.0/oa/message/cs", headers={"access_token": tokens["access_token"]},
                       json={"recipient": {"user_id": user_id}, "message": {"attachment": ask}})
    assert r.json()["error"] == 0
    await page.locator(".msg.out button.share-info").click()
    await page.fill("#info-name", "Võ Thị Hoa")
    await page.fill("#info-phone", "0977111222")
    await page.fill("#info-ward", "Phường An Xuyên")
    await page.fill("#info-address", "25 Trần Hưng Đạo")
    await page.click("#info-submit")
    [got] = await hook.wait_for("user_submit_info")
    info = got["event"]["info"]
    assert info["name"] == "Võ Thị Hoa" and info["phone"] == "84977111222"
    assert info["full_address"]["user_address"] == "25 Trần Hưng Đạo"
    await page.locator(".msg.in", has_text="Đã chia sẻ thông tin: Võ Thị Hoa").wait_for()


async def test_send_a_photo_and_a_location(page, tenants, hook, tmp_path):
    await open_ca_mau(page, tenants)
    photo = tmp_path / "giay-to.png"
    photo.write_bytes(bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000d49444154789c6360f8cff01f0005000201a5b6e1ce0000000049454e44ae426082"))
    await page.set_input_files("#image-file", str(photo))
    [image] = await hook.wait_for("user_send_image")
    url = image["event"]["message"]["attachments"][0]["payload"]["url"]
    await page.locator(f'.msg.in img[src="{url}"]').wait_for()
    await page.click("#location")
    [location] = await hook.wait_for("user_send_location")
    coords = location["event"]["message"]["attachments"][0]["payload"]["coordinates"]
    assert abs(float(coords["latitude"]) - 9.18) < 0.1
