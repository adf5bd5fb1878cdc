"""The form in a real browser on a phone-sized screen (Debian's chromium through Playwright)."""

from __future__ import annotations

from motcua.onestop.sandbox_world import SandboxControl

from .conftest import Citizen, drain
from .helpers import jpeg_with_gps, png_bytes
from .test_flow import fill
from tests.conftest import requires_chromium

pytestmark = requires_chromium


async def test_citizen_fills_the_form_on_a_phone(phone_page, connected, server, runtime, http, tmp_path):
    page = phone_page
    citizen = Citizen(http, runtime, "ca-mau")
    await citizen.send(type="follow")
    await citizen.send_photo(jpeg_with_gps((1200, 1600)))
    await citizen.send(type="text", text="Nop ho so khai sinh")
    await drain(runtime)
    url = await citizen.link(r"/t/ca-mau/nop/")

    await page.goto(url)
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    shoot = page.locator('input[type="file"]').first
    assert await shoot.get_attribute("accept") == "image/*" and await shoot.get_attribute("capture") == "environment"

    values = fill(await page.content())
    for name, value in values.items():
        await page.fill(f"#f-{name}", value)
    await page.fill("#f-applicant_phone", "09123")  # a slip of the thumb
    await page.wait_for_selector("text=Đã tự lưu bản nháp")  # autosaved without pressing anything

    papers = await page.locator(".paper").evaluate_all("els => els.map(e => e.dataset.paper)")
    first, second = papers[0], papers[1]

    # A PNG renamed .jpg is refused next to its paper, at once.
    wrong = tmp_path / "giay-chung-sinh.jpg"
    wrong.write_bytes(png_bytes((600, 800)))
    await page.set_input_files(f'.paper[data-paper="{second}"] input[type=file]', str(wrong))
    error = page.locator(f'[data-paper-error="{second}"]')
    await error.filter(has_text="nội dung là ảnh PNG").wait_for()
    assert await page.locator(f'.paper[data-paper="{second}"] .attached img').count() == 0

    # A photo taken with the camera is uploaded at once and shown.
    good = tmp_path / "IMG_1001.jpg"
    good.write_bytes(jpeg_with_gps((1600, 1200)))
    await page.set_input_files(f'.paper[data-paper="{second}"] input[type=file]', str(good))
    await page.locator(f'.paper[data-paper="{second}"] .attached img').wait_for()
    assert (await error.inner_text()).strip() == ""

    # The photo sent in the chat is picked for the first paper.
    await page.click(f'.paper[data-paper="{first}"] summary')
    await page.click(f'.paper[data-paper="{first}"] .pick')
    await page.locator(f'.paper[data-paper="{first}"] .attached img').wait_for()
    assert await page.input_value("#f-applicant_phone") == "09123"  # kept across the page reload

    # Sending with a wrong phone number: the message stands next to the field.
    await page.click("button[value=submit]")
    await page.locator("#e-applicant_phone").filter(has_text="Số điện thoại chưa đúng").wait_for()
    await page.fill("#f-applicant_phone", "0912 345 678")
    await page.click("button[value=submit]")
    await page.wait_for_selector("#dossier-code")
    code = (await page.inner_text("#dossier-code")).strip()
    assert "Đã gửi hồ sơ thành công" in await page.content()

    sandbox = SandboxControl(connected.sandbox_urls["ca-mau"])
    try:
        assert (await sandbox.dossier(code))["code"] == code
    finally:
        await sandbox.aclose()
