"""The result by post: the fee shown before confirming, communes of the province only, the request
sent to the one-stop system when it takes postal requests and recorded for officers otherwise."""

from __future__ import annotations

import re

import pytest

from motcua.domain.postal.service import DEFAULT_FEE, wards_of
from motcua.onestop.sandbox_world import SandboxControl

from .conftest import Citizen, drain
from .helpers import draft_id
from .test_flow import fill, open_form_from_chat, papers


async def submitted(http, citizen: Citizen, tenants, photo) -> tuple[str, str]:
    """A dossier submitted online by this citizen: (result page URL, dossier code)."""
    path, query, html = await open_form_from_chat(http, citizen, tenants)
    draft = draft_id(html)
    for paper in papers(html):
        await http.post(path, params=query, data={"draft_id": draft, "action": "save"},
                        files={f"file:{paper}": ("a.jpg", photo, "image/jpeg")})
    r = await http.post(path, params=query, data={**fill(html), "draft_id": draft, "action": "submit"})
    assert r.status_code == 303
    page = await http.get(r.headers["location"])
    return r.headers["location"], re.search(r'id="dossier-code">([^<]+)<', page.text).group(1)


@pytest.mark.parametrize("slug, expected", [("ca-mau", "registered"), ("an-giang", "recorded")])
async def test_postal_request(slug, expected, connected, server, runtime, http, photo):
    citizen = Citizen(http, runtime, slug)
    await citizen.send(type="follow")
    result_url, code = await submitted(http, citizen, connected, photo)
    result = await http.get(result_url)
    postal_url = re.search(r'href="([^"]+/buu-dien\?[^"]+)"', result.text).group(1).replace("&amp;", "&")

    form = await http.get(postal_url)
    assert form.status_code == 200
    assert "25.000 đồng" in form.text and f"{DEFAULT_FEE:,}".replace(",", ".") in form.text  # fee before confirming
    stat_code = connected[slug].file.stat_code
    options = re.findall(r'<option value="(\d{5})"', form.text)
    assert sorted(options) == sorted(w.code for w in wards_of(stat_code))  # this province's communes only
    assert len(options) == {"96": 64, "91": 102}[stat_code]

    # Wrong input: clear messages, nothing recorded.
    bad = await http.post(postal_url, data={"name": "", "phone": "123", "ward": "00001", "street": "x"})
    assert bad.status_code == 422
    for message in ("Vui lòng nhập họ tên người nhận", "Số điện thoại chưa đúng", "Vui lòng chọn xã, phường",
                    "Vui lòng nhập số nhà", "Vui lòng xác nhận đồng ý mức phí"):
        assert message in bad.text
    async with runtime.db.tenant(slug) as conn:
        assert await conn.fetchval("SELECT count(*) FROM postal_request p JOIN dossier d ON d.id = p.dossier_id "
                                   "WHERE d.code = $1", code) == 0

    ward = options[3]
    body = {"name": "Trần Văn Bình", "phone": "0987 654 321", "ward": ward, "street": "12 đường Phan Ngọc Hiển",
            "agree": "1"}
    ok = await http.post(postal_url, data=body)
    assert ok.status_code == 303
    again = await http.post(postal_url, data=body)  # a double tap: still one request
    assert again.status_code == 303
    await drain(runtime)

    async with runtime.db.tenant(slug) as conn:
        rows = await conn.fetch("SELECT p.status, p.fee, p.ward_code, p.receiver_enc FROM postal_request p "
                                "JOIN dossier d ON d.id = p.dossier_id WHERE d.code = $1", code)
    assert len(rows) == 1 and rows[0]["status"] == expected and rows[0]["ward_code"] == ward
    assert b"0987654321" not in bytes(rows[0]["receiver_enc"])  # the phone is sealed at rest

    sandbox = SandboxControl(connected.sandbox_urls[slug])
    try:
        sent = [p for p in await sandbox.received("postal") if code in str(p)]
    finally:
        await sandbox.aclose()
    assert len(sent) == (1 if expected == "registered" else 0)

    page = await http.get(result_url)
    assert {"registered": "Bộ phận một cửa đã nhận yêu cầu", "recorded": "Đã ghi nhận"}[expected] in page.text
    assert any("qua bưu điện" in t and code in t for t in await citizen.texts())


async def test_postal_request_for_any_dossier_from_its_receipt(connected, server, runtime, http):
    """A dossier handed in at the counter: the receipt holder asks for the result by post."""
    from datetime import UTC, datetime

    from motcua.domain.dossiers.store import upsert_dossiers
    from motcua.onestop.records import Dossier, RawStatus, Status
    from motcua.submission.pages import postal_link

    slug, code = "dong-nai", "000.00.07.H19-251120-0042"
    async with runtime.db.tenant(slug) as conn:
        await upsert_dossiers(conn, runtime.crypto, slug, [Dossier(
            code=code, status=Status.processing, raw_status=RawStatus(code="processing"),
            received_at=datetime.now(UTC))])
    url = postal_link(runtime, slug, code)
    form = await http.get(url)
    assert form.status_code == 200 and "25.000 đồng" in form.text and code in form.text
    assert (await http.get(url.replace("t=", "t=x"))).status_code == 404  # no receipt, no form
    ward = re.findall(r'<option value="(\d{5})"', form.text)[0]
    r = await http.post(url, data={"name": "Lê Văn Tám", "phone": "0912345678", "ward": ward, "street": "5 Hùng Vương",
                                   "agree": "1"})
    assert r.status_code == 303 and f"/t/{slug}/hs/" in r.headers["location"]
    await drain(runtime)
    async with runtime.db.tenant(slug) as conn:
        status = await conn.fetchval("SELECT p.status FROM postal_request p JOIN dossier d ON d.id = p.dossier_id "
                                     "WHERE d.code = $1", code)
    assert status == "recorded"  # the push family takes no postal requests: officers handle it
    again = await http.get(url)
    assert "Đã ghi nhận; cán bộ sẽ gửi kết quả qua bưu điện" in again.text


async def test_postal_status_by_chat(connected, server, runtime, http, photo):
    citizen = Citizen(http, runtime, "ca-mau")
    await citizen.send(type="follow")
    result_url, code = await submitted(http, citizen, connected, photo)
    await citizen.send(type="text", text="nhan ket qua qua buu dien")
    await drain(runtime)
    assert any(f"{code}: chưa đăng ký nhận qua bưu điện" in t for t in await citizen.texts())
    link = await citizen.link(r"/t/ca-mau/buu-dien/")
    form = await http.get(link)
    ward = re.findall(r'<option value="(\d{5})"', form.text)[0]
    await http.post(link, data={"name": "Lâm Văn Phúc", "phone": "0912345678", "ward": ward, "street": "3 Lý Thường Kiệt",
                                "agree": "1"})
    await drain(runtime)
    await citizen.send(type="text", text="Bưu điện")
    await drain(runtime)
    assert any(f"{code}: Bộ phận một cửa đã nhận yêu cầu" in t for t in await citizen.texts())
