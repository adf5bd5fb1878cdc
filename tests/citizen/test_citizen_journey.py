"""The journey citizens praise, end to end over real HTTP: the Zalo simulator as the phone, the
Cà Mau sandbox (iGate protocol) as the one-stop system, Motcua's worker in between."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx

from motcua.domain.dossiers.lookup import lookup

from .conftest import buttons_of, eventually, text_of

TENANT = "ca-mau"


def undiacritic(code: str) -> str:
    """How people type a code from a paper receipt: lower case, spaces for separators."""
    return "tra cuu ho so " + code.lower().replace(".", " ").replace("-", " ")


async def sync_now(runtime, code: str) -> None:
    """What the scheduled poll does for this dossier: ask the system, store the change."""
    assert await lookup(runtime, TENANT, code) is not None


async def test_lookup_early_pickup_rating_request_and_rating_reaching_the_one_stop_system(
        phone, sandbox, runtime, worker, server):
    control = sandbox(TENANT)
    dossier = await control.create(procedure_code="1.001193", status="processing")
    code = dossier["code"]
    citizen = phone(TENANT)

    # 1. A code typed without diacritics or separators gets the right status in plain words.
    replies = await citizen.says(undiacritic(code))
    assert len(replies) == 1, replies
    text = text_of(replies[0])
    assert code in text
    assert "đang được giải quyết" in text
    assert "Ngày hẹn trả" in text
    assert "/t/ca-mau/hs/" in text  # the status page link
    assert "thay đổi" in text  # subscribed: told they will hear about changes

    # 2. The one-stop system resolves it before its due date: one early-pickup message.
    await control.move(code, "resolved")
    await sync_now(runtime, code)

    async def pickups():
        return [m for m in await citizen.inbox() if "mời ông/bà đến nhận kết quả" in text_of(m).lower()]
    pickup = await eventually(worker, pickups)
    assert len(pickup) == 1, [text_of(m) for m in await citizen.inbox()]
    assert "sớm hơn ngày hẹn" in text_of(pickup[0])
    # Asking the system again (a later poll) changes nothing: no second message.
    await sync_now(runtime, code)
    await worker.run_until_idle()
    assert len([m for m in await citizen.inbox() if "đến nhận kết quả" in text_of(m)]) == 1

    # 3. Returned: a rating request with a button to the status page's rating form.
    await control.move(code, "returned")
    await sync_now(runtime, code)

    async def rating_requests():
        return [m for m in await citizen.inbox() if "đánh giá" in text_of(m).lower() and "trả kết quả" in text_of(m)]
    requests = await eventually(worker, rating_requests)
    assert len(requests) == 1
    link = next(b for b in buttons_of(requests[0]) if b["type"] == "oa.open.url")["payload"]["url"]
    assert re.search(r"/t/ca-mau/hs/[^?]+\?t=[\w-]{16,}$", link)

    # 4. The citizen rates on the status page; the rating reaches the sandbox one-stop system.
    path = urlsplit(link)
    async with httpx.AsyncClient(base_url=server, timeout=10) as web:
        page = await web.get(f"{path.path}?{path.query}")
        assert page.status_code == 200
        assert "Đánh giá mức độ hài lòng" in page.text
        action = re.search(r'<form[^>]+action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
        sent = await web.post(action, data={"overall": "3", "c7": "2", "comment": "Cán bộ tận tình, nhanh chóng"})
        assert sent.status_code == 303
        thanks = await web.get(sent.headers["location"])
        assert "Cảm ơn ông/bà đã đánh giá" in thanks.text
    async def evaluations():
        return [e for e in await control.received("evaluations") if code in str(e)]
    received = await eventually(worker, evaluations)
    assert len(received) == 1, received
    assert "Cán bộ tận tình" in str(received[0])
