"""Online submission end to end, for each adapter family, over HTTP: the form opened from the
OA's button, a photo from the chat and one uploaded, the dossier in the sandbox one-stop system,
the receipt on Zalo; and what must never happen (two dossiers, bad files kept)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
import pytest
from PIL import Image

from motcua.domain.files.storage import get_storage
from motcua.onestop.sandbox_world import SandboxControl

from .conftest import FAMILIES, Citizen, drain
from .helpers import draft_id, jpeg_with_gps, link_parts, png_bytes

WAITING = "Hệ thống một cửa đang gián đoạn"


def fill(html: str) -> dict[str, str]:
    """What a careful citizen types into every field of the form."""
    values: dict[str, str] = {}
    for m in re.finditer(r'<(input|textarea|select) id="f-(\w+)" name="(\w+)"([^>]*)>', html):
        name, attrs = m.group(3), m.group(4)
        if name == "applicant_phone":
            values[name] = "0912 345 678"
        elif name == "applicant_id_number":
            values[name] = "096123456789"
        elif 'type="date"' in attrs:
            values[name] = "2025-11-20"
        elif 'inputmode="numeric"' in attrs:
            values[name] = "2"
        elif m.group(1) == "select":
            options = re.findall(r"<option>([^<]+)</option>", html[m.end():html.find("</select>", m.end())])
            values[name] = options[0]
        else:
            values[name] = "Nguyễn Thị Mai"
    return values


def papers(html: str) -> list[str]:
    return re.findall(r'data-paper="([^"]+)"', html)


async def open_form_from_chat(http: httpx.AsyncClient, citizen: Citizen, tenants) -> tuple[str, dict, str]:
    """The citizen asks for the form in the chat and taps the button: (path, query, html)."""
    adapter = await citizen.runtime.adapter(citizen.slug)
    ask = "nộp hồ sơ khai sinh" if "procedures" in adapter.capabilities else "nop ho so 1.001193"
    await citizen.send(type="text", text=ask)
    await drain(citizen.runtime)
    url = await citizen.link(rf"/t/{citizen.slug}/nop/")
    path, query = link_parts(url)
    r = await http.get(path, params=query)
    assert r.status_code == 200, r.text
    return path, query, r.text


async def stored_files(runtime, slug: str, submission_id: int) -> list[bytes]:
    async with runtime.db.tenant(slug) as conn:
        keys = await conn.fetch("SELECT storage_key FROM submission_file WHERE submission_id = $1 ORDER BY id",
                                submission_id)
    return [await get_storage(runtime).get(k["storage_key"]) for k in keys]


@pytest.mark.parametrize("slug", FAMILIES)
async def test_submit_with_a_chat_photo_and_an_uploaded_one(slug, connected, server, runtime, http, photo):
    citizen = Citizen(http, runtime, slug)
    await citizen.send(type="follow")
    await citizen.send_photo(jpeg_with_gps((1400, 1000), color=(230, 220, 200)))
    path, query, html = await open_form_from_chat(http, citizen, connected)
    assert "Dùng ảnh đã gửi trong Zalo" in html
    draft = draft_id(html)
    first, *rest = papers(html)
    chat_ref = re.search(rf'value="chat:{re.escape(first)}:([0-9:]+)"', html).group(1)
    values = fill(html)

    # The photo from the chat goes to the first paper (the page re-renders with it).
    r = await http.post(path, params=query, data={**values, "draft_id": draft, "action": f"chat:{first}:{chat_ref}"})
    assert r.status_code == 200, r.text
    assert len(re.findall(r'value="delete:\d+"', r.text)) == 1
    # A photo taken in the form goes to every other paper (script-style request: JSON back).
    for paper in rest or [first]:
        r = await http.post(path, params=query, headers={"Accept": "application/json"},
                            data={"draft_id": draft, "action": "save"},
                            files={f"file:{paper}": ("IMG_2041.JPG", photo, "image/jpeg")})
        assert r.status_code == 200, r.text
        assert r.json()["added"]

    r = await http.post(path, params=query, data={**values, "draft_id": draft, "action": "submit"})
    assert r.status_code == 303, r.text
    result = await http.get(r.headers["location"])
    code = re.search(r'id="dossier-code">([^<]+)<', result.text).group(1)

    # The one-stop system has it, once, with our idempotency key and the photos.
    sandbox = SandboxControl(connected.sandbox_urls[slug])
    try:
        assert (await sandbox.dossier(code))["code"] == code
        received = [s for s in await sandbox.received("submissions") if s["code"] == code]
        assert len(received) == 1 and received[0]["idempotency_key"].startswith("motcua-")
        assert received[0]["attachments"] == len(rest or [first]) + 1
    finally:
        await sandbox.aclose()

    # Motcua holds the dossier with its first timeline event, and the citizen follows it.
    async with runtime.db.tenant(slug) as conn:
        dossier = await conn.fetchrow("SELECT id, code, online, due_at FROM dossier WHERE code = $1", code)
        assert dossier and dossier["online"] and dossier["due_at"] is not None
        assert await conn.fetchval("SELECT count(*) FROM dossier_event WHERE dossier_id = $1 AND kind = 'created'",
                                   dossier["id"]) == 1
        assert await conn.fetchval("SELECT count(*) FROM subscription WHERE dossier_id = $1", dossier["id"]) == 1
        sub_id = await conn.fetchval("SELECT id FROM submission WHERE dossier_code = $1", code)

    # The stored photos are clean JPEGs: no EXIF, so no GPS position.
    files = await stored_files(runtime, slug, sub_id)
    assert len(files) == len(rest or [first]) + 1
    for data in files:
        im = Image.open(io.BytesIO(data))
        assert im.format == "JPEG" and dict(im.getexif()) == {}

    # The receipt reaches the citizen on Zalo, with the link to the status page (QR receipt).
    await drain(runtime)
    assert any(code in t for t in await citizen.texts())
    status_link = await citizen.link(rf"/t/{slug}/hs/")
    assert "t=" in status_link

    # A double tap or a retried request: same answer, no second dossier.
    again = await http.post(path, params=query, data={**values, "draft_id": draft, "action": "submit"})
    assert again.status_code == 303 and again.headers["location"] == r.headers["location"]
    sandbox = SandboxControl(connected.sandbox_urls[slug])
    try:
        assert len([s for s in await sandbox.received("submissions") if s["code"] == code]) == 1
    finally:
        await sandbox.aclose()
    async with runtime.db.tenant(slug) as conn:
        assert await conn.fetchval("SELECT count(*) FROM submission WHERE citizen_id = $1 AND status = 'submitted'",
                                   await citizen.citizen_id()) == 1


async def test_bad_files_are_refused_and_nothing_is_stored(connected, server, runtime, http):
    slug = "ca-mau"
    citizen = Citizen(http, runtime, slug)
    await citizen.send(type="follow")
    path, query, html = await open_form_from_chat(http, citizen, connected)
    draft, paper = draft_id(html), papers(html)[0]
    root = Path(runtime.settings.data_dir) / "files"
    before = sorted(root.rglob("*")) if root.exists() else []
    cases = [
        (("giay-khai-sinh.jpg", png_bytes((800, 600)), "image/jpeg"), "đuôi .jpg nhưng nội dung là ảnh PNG"),
        (("chup-man-hinh.png", png_bytes((10000, 5000), mode="L"), "image/png"), "quá lớn (50 megapixel"),
        (("anh.jpg", b"<!DOCTYPE html><html><body><script>fetch('/x')</script></body></html>", "image/jpeg"),
         "không phải là ảnh"),
    ]
    for upload, message in cases:
        r = await http.post(path, params=query, headers={"Accept": "application/json"},
                            data={"draft_id": draft, "action": "save"}, files={f"file:{paper}": upload})
        assert r.status_code == 422, r.text
        assert message in r.json()["paper_errors"][paper]
        assert r.json()["files"] == []
    # Without the script, the message is shown next to the paper on the page.
    r = await http.post(path, params=query, data={"draft_id": draft, "action": "save"},
                        files={f"file:{paper}": cases[2][0]})
    assert r.status_code == 422 and "không phải là ảnh" in r.text
    async with runtime.db.tenant(slug) as conn:
        assert await conn.fetchval("SELECT count(*) FROM submission_file WHERE submission_id = $1", int(draft)) == 0
    assert (sorted(root.rglob("*")) if root.exists() else []) == before


async def test_validation_messages_are_vietnamese_and_next_to_the_field(connected, server, runtime, http):
    citizen = Citizen(http, runtime, "an-giang")
    await citizen.send(type="follow")
    path, query, html = await open_form_from_chat(http, citizen, connected)
    values = {**fill(html), "applicant_phone": "12345", "applicant_id_number": "0961"}
    r = await http.post(path, params=query, data={**values, "draft_id": draft_id(html), "action": "submit"})
    assert r.status_code == 422
    assert re.search(r'id="e-applicant_phone"[^>]*>Số điện thoại chưa đúng', r.text)
    assert re.search(r'id="e-applicant_id_number"[^>]*>Số định danh cá nhân \(CCCD\) gồm đúng 12 chữ số', r.text)
    assert "Vui lòng đính kèm ảnh chụp" in r.text
    # What was typed is kept: reopening the link resumes the draft.
    again = await http.get(path, params=query)
    assert 'value="12345"' in again.text and "Nguyễn Thị Mai" in again.text


async def test_link_is_bound_to_the_citizen_and_expires(connected, server, runtime, http):
    from motcua.domain.submissions.links import form_token

    citizen = Citizen(http, runtime, "ca-mau")
    await citizen.send(type="follow")
    path, query, _ = await open_form_from_chat(http, citizen, connected)
    other = dict(query, u=str(int(query["u"]) + 1))
    assert (await http.get(path, params=other)).status_code == 403
    assert (await http.get(path, params=dict(query, t="0.forged"))).status_code == 403
    code = path.rsplit("/", 1)[1]
    expired = form_token(runtime.crypto, "ca-mau", code, int(query["u"]), ttl_days=-1)
    r = await http.get(path, params=dict(query, t=expired))
    assert r.status_code == 403 and "hết hạn" in r.text
    # The same link on another province's path is not valid either.
    assert (await http.get(path.replace("/ca-mau/", "/an-giang/"), params=query)).status_code == 403


async def test_one_stop_system_down_keeps_the_submission_and_sends_it_later(connected, server, runtime, http,
                                                                             owner_conn, photo):
    slug = "dong-nai"
    citizen = Citizen(http, runtime, slug)
    await citizen.send(type="follow")
    path, query, html = await open_form_from_chat(http, citizen, connected)
    draft = draft_id(html)
    for paper in papers(html):
        r = await http.post(path, params=query, data={"draft_id": draft, "action": "save"},
                            files={f"file:{paper}": ("a.jpg", photo, "image/jpeg")})
        assert r.status_code == 200
    sandbox = SandboxControl(connected.sandbox_urls[slug])
    try:
        await sandbox.fault(status=503)
        r = await http.post(path, params=query, data={**fill(html), "draft_id": draft, "action": "submit"},
                            follow_redirects=True)
        assert r.status_code == 200 and WAITING in r.text
        await drain(runtime)
        assert any(WAITING in t for t in await citizen.texts())
        async with runtime.db.tenant(slug) as conn:
            row = await conn.fetchrow("SELECT status, dossier_code FROM submission WHERE id = $1", int(draft))
        assert row["status"] == "waiting" and row["dossier_code"] is None

        # Still down when the job tries: still waiting, the citizen is not told twice.
        await owner_conn.execute("UPDATE job SET run_at = now() WHERE tenant_id = $1 AND kind = 'submissions.send'", slug)
        await drain(runtime)
        assert sum(WAITING in t for t in await citizen.texts()) == 1

        await sandbox.clear_faults()
        await owner_conn.execute("UPDATE job SET run_at = now() WHERE tenant_id = $1 AND kind = 'submissions.send'", slug)
        await drain(runtime)
        async with runtime.db.tenant(slug) as conn:
            row = await conn.fetchrow("SELECT status, dossier_code, idempotency_key FROM submission WHERE id = $1",
                                      int(draft))
        assert row["status"] == "submitted"
        received = [s for s in await sandbox.received("submissions") if s["idempotency_key"] == row["idempotency_key"]]
        assert [s["code"] for s in received] == [row["dossier_code"]]
        assert any(row["dossier_code"] in t for t in await citizen.texts())
        assert await owner_conn.fetchval("SELECT count(*) FROM job WHERE tenant_id = $1 AND kind = 'submissions.send' "
                                         "AND payload->>'submission_id' = $2", slug, draft) == 0
    finally:
        await sandbox.clear_faults()
        await sandbox.aclose()


async def test_refused_by_the_one_stop_system_returns_to_the_citizen(connected, server, runtime, http, photo):
    """A code the system does not take online: the draft comes back with the reason, and a
    corrected submission will be a new request (fresh idempotency key)."""
    slug = "dong-nai"
    citizen = Citizen(http, runtime, slug)
    await citizen.send(type="follow")
    await citizen.send(type="text", text="nộp hồ sơ 9.999999")
    await drain(runtime)
    path, query = link_parts(await citizen.link(rf"/t/{slug}/nop/9\.999999"))
    html = (await http.get(path, params=query)).text
    draft = draft_id(html)
    for paper in papers(html):
        await http.post(path, params=query, data={"draft_id": draft, "action": "save"},
                        files={f"file:{paper}": ("a.jpg", photo, "image/jpeg")})
    async with runtime.db.tenant(slug) as conn:
        key_before = await conn.fetchval("SELECT idempotency_key FROM submission WHERE id = $1", int(draft))
    page = await http.post(path, params=query, data={**fill(html), "draft_id": draft, "action": "submit"},
                           follow_redirects=True)
    assert page.status_code == 200 and "Hồ sơ chưa gửi được" in page.text
    assert 'value="Nguyễn Thị Mai"' in page.text  # nothing the citizen typed is lost
    async with runtime.db.tenant(slug) as conn:
        row = await conn.fetchrow("SELECT status, idempotency_key, dossier_id FROM submission WHERE id = $1", int(draft))
    assert row["status"] == "draft" and row["dossier_id"] is None and row["idempotency_key"] != key_before
    await drain(runtime)
    assert any("chưa gửi được" in t for t in await citizen.texts())
