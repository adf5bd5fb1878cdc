"""The push family's own promises: the sandbox signs and delivers each change to the target set
at run time, and parse_push refuses what is stale, replayed or forged."""

import asyncio
import time
from pathlib import Path

import msgspec
import pytest
from litestar import Litestar, Request, post

from motcua.onestop.contract import Malformed, Rejected
from motcua.onestop.records import Status
from motcua.onestop.sandbox import serve_app, stop_server
from motcua.testing.conformance import _free_port, serve_sandbox
from motcua_push.adapter import PushAdapter, sign
from motcua_push.mapping import STATUS_TABLE

TENANT = Path(__file__).resolve().parents[3] / "tenants" / "dong-nai.toml"


@pytest.fixture(scope="module")
async def push_target():
    async with serve_sandbox(PushAdapter, TENANT) as target:
        yield target


@pytest.fixture
async def receiver():
    """A stand-in for Motcua's POST /onestop/{tenant}/events that records what arrives."""
    got: list[tuple[bytes, dict[str, str]]] = []

    @post("/onestop/dong-nai/events", status_code=202)
    async def events(request: Request) -> dict:
        got.append((await request.body(), dict(request.headers)))
        return {"ok": True}

    port = _free_port()
    server = await serve_app(Litestar([events]), "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}/onestop/dong-nai/events", got
    await stop_server(server)


async def test_a_change_is_pushed_signed_to_the_target_set_at_run_time(push_target, receiver):
    url, got = receiver
    control, adapter = push_target.control, push_target.adapter
    code = (await control.create(status="received"))["code"]
    assert (await control.set_push_target(url))["url"] == url
    await control.move(code, "resolved")
    for _ in range(100):
        if got:
            break
        await asyncio.sleep(0.02)
    assert got, "the sandbox did not push"
    changes = await adapter.parse_push(*got[-1])
    assert [(c.dossier.code, c.dossier.status) for c in changes] == [(code, Status.resolved)]
    assert (await control.pushes())[-1]["response"] == 202
    await control.set_push_target(None)


async def test_stale_or_future_pushes_are_refused(push_target):
    adapter = push_target.adapter
    code = (await push_target.control.create(status="processing"))["code"]
    body, _ = await push_target.control.push_sample(code)
    secret = adapter.secrets["hmac_secret"]
    for skew in (-301, 301):
        ts = str(int(time.time()) + skew)
        with pytest.raises(Rejected):
            await adapter.parse_push(body, {"X-Motcua-Timestamp": ts, "X-Motcua-Signature": sign(secret, ts, body)})
    ts = str(int(time.time()) - 200)  # inside the window: accepted
    assert await adapter.parse_push(body, {"x-motcua-timestamp": ts, "x-motcua-signature": sign(secret, ts, body)})


async def test_a_batch_of_events_and_an_unknown_status(push_target):
    adapter = push_target.adapter
    secret = adapter.secrets["hmac_secret"]
    dossier = {"dossierCode": "000.00.07.H19-251119-0001", "statusCode": "interoperating", "updatedAt": "2025-11-19T09:00:00+07:00"}
    body = msgspec.json.encode({"events": [{"eventId": "e1", "dossier": dossier},
                                           {"eventId": "e2", "dossier": {**dossier, "statusCode": "done"}}]})
    ts = str(int(time.time()))
    changes = await adapter.parse_push(body, {"X-Motcua-Timestamp": ts, "X-Motcua-Signature": sign(secret, ts, body)})
    assert [(c.event_id, c.dossier.status, c.dossier.raw_status.code) for c in changes] == [
        ("e1", Status.unknown, "interoperating"), ("e2", Status.returned, "done")]
    broken = b'{"eventId": "e3", "dossier": {"statusCode": "new"}}'
    with pytest.raises(Malformed):
        await adapter.parse_push(broken, {"X-Motcua-Timestamp": ts, "X-Motcua-Signature": sign(secret, ts, broken)})


def test_the_status_table_covers_every_canonical_status_once():
    assert sorted(STATUS_TABLE.values()) == sorted(s for s in Status if s is not Status.unknown)
