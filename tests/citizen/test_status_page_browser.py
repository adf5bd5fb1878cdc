"""The status page in a real browser on a phone-sized viewport (Debian's chromium through
Playwright): a citizen opens the receipt's link and rates the service through the form."""

from __future__ import annotations

import pytest

from motcua.domain.conversation.dossier import status_link
from motcua.domain.dossiers.lookup import lookup
from motcua.onestop.codes import normalize_code
from tests.conftest import requires_chromium

TENANT = "ca-mau"
pytestmark = requires_chromium


async def test_rating_submitted_through_the_form_on_a_phone(phone_page, sandbox, runtime, worker, server):
    control = sandbox(TENANT)
    d = await control.create(procedure_code="1.001193", status="processing")
    await control.move(d["code"], "returned")
    assert await lookup(runtime, TENANT, d["code"]) is not None
    page = phone_page

    await page.goto(status_link(runtime, TENANT, d["code"]))
    await page.get_by_text("Hồ sơ đã trả kết quả.").wait_for()
    # Fits the phone: nothing wider than the screen.
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page.get_by_label("Rất hài lòng").check()
    await page.get_by_text("Đánh giá chi tiết theo 9 tiêu chí").click()
    await page.locator('input[name="c7"][value="2"]').check()  # Thái độ của cán bộ: tận tình
    await page.get_by_label("Góp ý thêm").fill("Nhận kết quả sớm, cảm ơn cán bộ.")
    await page.get_by_role("button", name="Gửi đánh giá").click()
    await page.get_by_role("status").get_by_text("Cảm ơn ông/bà đã đánh giá").wait_for()
    # The form comes back filled in, so the citizen can still change their mind.
    assert await page.get_by_label("Rất hài lòng").is_checked()

    async with runtime.db.tenant(TENANT) as conn:
        row = await conn.fetchrow(
            """SELECT e.overall, e.criteria, e.comment FROM evaluation e JOIN dossier d
               ON d.tenant_id = e.tenant_id AND d.id = e.dossier_id WHERE d.code_key = $1""", normalize_code(d["code"]))
    assert (row["overall"], row["criteria"], row["comment"]) == (3, {"c7": 2}, "Nhận kết quả sớm, cảm ơn cán bộ.")
    await worker.run_until_idle()
    assert [e for e in await control.received("evaluations") if d["code"] in str(e)]


async def test_a_wrong_link_shows_a_kind_page_on_a_phone(phone_page, server):
    r = await phone_page.goto(f"{server}/t/{TENANT}/hs/000.00.07.H12-251119-0001?t=sai")
    assert r.status == 404
    await phone_page.get_by_text("quét lại mã QR").wait_for()
