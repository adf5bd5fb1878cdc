"""Who may see what, and races: photos only to their citizen (signed link) and to officers
(short-lived links from staff pages); concurrent taps on "Gửi hồ sơ" make one dossier; forms
from the synced catalogue with their own field rules."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from motcua.domain.submissions.links import officer_file_link
from motcua.onestop.records import FormField, Paper, Procedure
from motcua.onestop.sandbox_world import SandboxControl

from .conftest import Citizen
from .helpers import draft_id, link_parts
from .test_flow import fill, open_form_from_chat, papers


async def test_photos_are_served_only_to_their_citizen_and_officers(connected, server, runtime, http, photo):
    owner = Citizen(http, runtime, "ca-mau")
    await owner.send(type="follow")
    path, query, html = await open_form_from_chat(http, owner, connected)
    r = await http.post(path, params=query, headers={"Accept": "application/json"},
                        data={"draft_id": draft_id(html), "action": "save"},
                        files={f"file:{papers(html)[0]}": ("a.jpg", photo, "image/jpeg")})
    file_url = r.json()["files"][0]["url"]
    file_id = int(re.search(r"/anh/(\d+)", file_url).group(1))
    mine = await http.get(file_url)
    assert mine.status_code == 200 and mine.headers["content-type"] == "image/jpeg"
    assert mine.content[:3] == b"\xff\xd8\xff" and "private" in mine.headers["cache-control"]

    # Another citizen, with a perfectly valid link of their own, cannot read it by changing the id.
    other = Citizen(http, runtime, "ca-mau")
    await other.send(type="follow")
    other_path, other_query, _ = await open_form_from_chat(http, other, connected)
    assert (await http.get(f"{other_path}/anh/{file_id}", params=other_query)).status_code == 404
    # Without the signature, nothing.
    bare_path, _ = link_parts(file_url)
    assert (await http.get(bare_path, params={"u": query["u"]})).status_code == 403

    # Officers: a short-lived link a staff page makes after its own checks.
    link = officer_file_link(runtime, "ca-mau", file_id)
    got = await http.get(link)
    assert got.status_code == 200 and got.content == mine.content
    stale = officer_file_link(runtime, "ca-mau", file_id, now=time.time() - 3600)
    assert (await http.get(stale)).status_code == 403
    assert (await http.get(link.replace("/ca-mau/", "/an-giang/"))).status_code == 403
    # The stored file lives outside every public path.
    assert not (await http.get(f"/static/{file_id}.jpg")).is_success


async def test_concurrent_taps_make_one_dossier(connected, server, runtime, http, photo):
    slug = "an-giang"
    citizen = Citizen(http, runtime, slug)
    await citizen.send(type="follow")
    path, query, html = await open_form_from_chat(http, citizen, connected)
    draft = draft_id(html)
    for paper in papers(html):
        await http.post(path, params=query, data={"draft_id": draft, "action": "save"},
                        files={f"file:{paper}": ("a.jpg", photo, "image/jpeg")})
    body = {**fill(html), "draft_id": draft, "action": "submit"}
    answers = await asyncio.gather(*(http.post(path, params=query, data=body) for _ in range(4)))
    assert {a.status_code for a in answers} == {303}
    assert len({a.headers["location"] for a in answers}) == 1
    async with runtime.db.tenant(slug) as conn:
        row = await conn.fetchrow("SELECT status, dossier_code, idempotency_key FROM submission WHERE id = $1",
                                  int(draft))
    assert row["status"] == "submitted"
    sandbox = SandboxControl(connected.sandbox_urls[slug])
    try:
        sent = [s for s in await sandbox.received("submissions") if s["idempotency_key"] == row["idempotency_key"]]
    finally:
        await sandbox.aclose()
    assert [s["code"] for s in sent] == [row["dossier_code"]]


async def test_form_from_the_synced_catalogue(connected, server, runtime, http):
    """A procedure the sync engine stored with its own fields (a list to choose from) gets that form."""
    from motcua.sync.procedures import upsert_procedures

    proc = Procedure(code="2.002154", name="Cấp bản sao trích lục hộ tịch", sector="Hộ tịch", online=True, fee="8.000 đồng",
                     processing_days=1, papers=[Paper(code="TK", name="Tờ khai cấp bản sao trích lục")],
                     form=[FormField(name="loai_trich_luc", label="Loại trích lục", type="select",
                                     options=["Khai sinh", "Kết hôn", "Khai tử"]),
                           FormField(name="so_ban", label="Số bản", type="number")])
    async with runtime.db.tenant("dong-nai") as conn:
        await upsert_procedures(conn, "dong-nai", [proc], complete=False)
    citizen = Citizen(http, runtime, "dong-nai")
    await citizen.send(type="follow")
    await citizen.send(type="text", text="nop ho so trich luc")
    from .conftest import drain

    await drain(runtime)
    path, query = link_parts(await citizen.link(r"/t/dong-nai/nop/2\.002154"))
    page = await http.get(path, params=query)
    assert page.status_code == 200
    assert "Cấp bản sao trích lục hộ tịch" in page.text and "8.000 đồng" in page.text
    assert re.findall(r"<option>([^<]+)</option>", page.text) == ["Khai sinh", "Kết hôn", "Khai tử"]
    r = await http.post(path, params=query, data={"draft_id": draft_id(page.text), "action": "submit",
                                                  "loai_trich_luc": "Ly hôn", "so_ban": "hai"})
    assert r.status_code == 422
    assert re.search(r'id="e-loai_trich_luc"[^>]*>Vui lòng chọn một mục trong danh sách', r.text)
    assert re.search(r'id="e-so_ban"[^>]*>Vui lòng chỉ nhập chữ số', r.text)


async def test_abandoned_drafts_and_their_photos_are_deleted(connected, server, runtime, http, photo, owner_conn):
    from motcua.domain.files.storage import NotFound, get_storage
    from motcua.jobs import enqueue

    from .conftest import drain

    slug = "ca-mau"
    old, recent = Citizen(http, runtime, slug), Citizen(http, runtime, slug)
    drafts = []
    for citizen in (old, recent):
        await citizen.send(type="follow")
        path, query, html = await open_form_from_chat(http, citizen, connected)
        await http.post(path, params=query, data={"draft_id": draft_id(html), "action": "save"},
                        files={f"file:{papers(html)[0]}": ("a.jpg", photo, "image/jpeg")})
        drafts.append(int(draft_id(html)))
    async with runtime.db.tenant(slug) as conn:
        assert await conn.fetchval("SELECT count(*) FROM schedule WHERE kind = 'submissions.cleanup'") == 1
        key = await conn.fetchval("SELECT storage_key FROM submission_file WHERE submission_id = $1", drafts[0])
    await owner_conn.execute("UPDATE submission SET updated_at = now() - interval '31 days' WHERE id = $1", drafts[0])
    async with runtime.db.tenant(slug) as conn:
        await enqueue(conn, slug, "submissions.cleanup", {})
    await drain(runtime)
    async with runtime.db.tenant(slug) as conn:
        left = {r["id"] for r in await conn.fetch("SELECT id FROM submission WHERE id = ANY($1::bigint[])", drafts)}
    assert left == {drafts[1]}
    with pytest.raises(NotFound):
        await get_storage(runtime).get(key)


async def test_a_store_outage_keeps_no_half_attached_photo(connected, server, runtime, http, photo):
    from motcua.domain.files.storage import StorageError, get_storage

    class Down:
        async def put(self, key, data, content_type):
            raise StorageError("PUT: HTTP 503")

    citizen = Citizen(http, runtime, "ca-mau")
    await citizen.send(type="follow")
    path, query, html = await open_form_from_chat(http, citizen, connected)
    paper = papers(html)[0]
    real = get_storage(runtime)
    runtime.state["files.storage"] = Down()
    try:
        r = await http.post(path, params=query, headers={"Accept": "application/json"},
                            data={"draft_id": draft_id(html), "action": "save", "applicant_name": "Võ Thị Sáu"},
                            files={f"file:{paper}": ("a.jpg", photo, "image/jpeg")})
    finally:
        runtime.state["files.storage"] = real
    assert r.status_code == 422 and "sự cố lưu trữ" in r.json()["paper_errors"][paper]
    assert r.json()["files"] == []
    again = await http.get(path, params=query)
    assert "Võ Thị Sáu" in again.text  # what was typed in the same request is kept
