"""The status page opened from the receipt's QR code, and the QR API the one-stop system prints from."""

from __future__ import annotations

import io
import os

import segno

from motcua.domain.conversation.dossier import status_link
from motcua.domain.dossiers.lookup import lookup
from motcua.onestop.codes import normalize_code

TENANT = "ca-mau"


async def a_dossier(sandbox, runtime, status: str = "processing") -> dict:
    control = sandbox(TENANT)
    d = await control.create(procedure_code="1.001193", status=status)
    assert await lookup(runtime, TENANT, d["code"]) is not None  # synced, as the poll would
    return d


async def test_the_signed_link_shows_the_dossier_small_and_without_personal_data(http, sandbox, runtime, tenants):
    d = await a_dossier(sandbox, runtime)
    link = status_link(runtime, TENANT, d["code"])
    r = await http.get(link.removeprefix(runtime.settings.public_url))
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    assert len(r.content) < 30_000  # a cheap phone on a slow network
    page = r.text
    assert d["code"] in page and "Hồ sơ đang được giải quyết." in page
    assert "Ngày hẹn trả kết quả" in page and "Quá trình giải quyết" in page
    async with runtime.db.tenant(TENANT) as conn:
        name = await conn.fetchval("SELECT applicant_name FROM dossier WHERE code_key = $1", normalize_code(d["code"]))
    if name:
        assert name not in page  # a lookup by code never shows who applied
    assert "<script" not in page  # no framework, no script
    assert 'id="danh-gia"' not in page  # nothing to rate before there is a result


async def test_wrong_or_missing_token_gives_the_same_kind_page_whether_or_not_the_code_exists(http, sandbox, runtime):
    d = await a_dossier(sandbox, runtime)
    real = f"/t/{TENANT}/hs/{d['code']}"
    fake = f"/t/{TENANT}/hs/000.00.07.H12-991231-9999"
    answers = [await http.get(real), await http.get(real + "?t=AAAAAAAAAAAAAAAAAAAAAA"),
               await http.get(fake), await http.get(fake + "?t=AAAAAAAAAAAAAAAAAAAAAA"),
               await http.get(f"/t/khong-co/hs/{d['code']}?t=x")]
    assert {a.status_code for a in answers} == {404}
    bodies = {a.text.replace("Dịch vụ công trên Zalo", "Tỉnh Cà Mau") for a in answers}
    assert len(bodies) == 1  # nothing tells an existing code from a made-up one
    assert "quét lại mã QR" in answers[0].text
    assert d["code"] not in answers[0].text
    # A token for one code does not open another.
    other = status_link(runtime, TENANT, d["code"]).split("?t=")[1]
    assert (await http.get(f"{fake}?t={other}")).status_code == 404


async def test_rating_is_refused_before_a_result_and_validated(http, sandbox, runtime):
    d = await a_dossier(sandbox, runtime)
    token = status_link(runtime, TENANT, d["code"]).split("?t=")[1]
    r = await http.post(f"/t/{TENANT}/hs/{d['code']}/danh-gia?t={token}", data={"overall": "3"})
    assert r.status_code == 400 and "chưa có kết quả" in r.text
    await sandbox(TENANT).move(d["code"], "returned")
    await lookup(runtime, TENANT, d["code"])
    r = await http.post(f"/t/{TENANT}/hs/{d['code']}/danh-gia?t={token}", data={"overall": "7"})
    assert r.status_code == 400 and "không hợp lệ" in r.text
    r = await http.post(f"/t/{TENANT}/hs/{d['code']}/danh-gia?t=wrong", data={"overall": "3"})
    assert r.status_code == 404
    async with runtime.db.tenant(TENANT) as conn:
        assert await conn.fetchval(
            "SELECT count(*) FROM evaluation e JOIN dossier d ON d.id = e.dossier_id WHERE d.code_key = $1",
            normalize_code(d["code"])) == 0
    # A valid rating, then an edit: still one rating per receipt.
    for level in ("2", "3"):
        r = await http.post(f"/t/{TENANT}/hs/{d['code']}/danh-gia?t={token}", data={"overall": level, "c3": "2"})
        assert r.status_code == 303
    async with runtime.db.tenant(TENANT) as conn:
        rows = await conn.fetch("SELECT overall, criteria FROM evaluation e JOIN dossier d ON d.id = e.dossier_id "
                                "WHERE d.code_key = $1", normalize_code(d["code"]))
    assert [(r["overall"], r["criteria"]) for r in rows] == [(3, {"c3": 2})]


async def test_qr_api_needs_the_tenant_key_and_encodes_the_status_link(http, runtime, tenants):
    code = "000.00.07.H12-251119-0042"
    url = f"/api/v1/tenants/{TENANT}/dossiers/{code}/qr.svg"
    assert (await http.get(url)).status_code == 401
    assert (await http.get(url, headers={"X-Api-Key": "guess"})).status_code == 401
    key = os.environ["CA_MAU_QR_API_KEY"]
    svg = await http.get(url, headers={"X-Api-Key": key})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    expected = io.BytesIO()
    segno.make(status_link(runtime, TENANT, code), error="m", micro=False).save(expected, kind="svg", scale=4,
                                                                               border=2, xmldecl=False)
    assert svg.content == expected.getvalue()  # the receipt's QR opens this dossier's signed page
    png = await http.get(url.replace("qr.svg", "qr.png"), headers={"Authorization": f"Bearer {key}"})
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    # Another tenant's key does not work here.
    other = os.environ["AN_GIANG_QR_API_KEY"]
    assert (await http.get(url, headers={"X-Api-Key": other})).status_code == 401


async def test_a_push_province_uses_its_existing_api_key_for_qr_codes(http, tenants):
    url = "/api/v1/tenants/dong-nai/dossiers/000.00.32.H19-251119-0001/qr.svg"
    assert (await http.get(url, headers={"X-Api-Key": os.environ["DONG_NAI_ONESTOP_API_KEY"]})).status_code == 200
    assert (await http.get(url, headers={"X-Api-Key": os.environ["CA_MAU_QR_API_KEY"]})).status_code == 401
