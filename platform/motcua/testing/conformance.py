"""The adapter conformance suite: one import line runs it against your adapter.

In your adapter's ``tests/test_<family>_conformance.py``::

    from motcua.testing.conformance import *  # noqa: F403 - the suite's tests

    @pytest.fixture(scope="module")
    async def conformance_target():
        async with serve_sandbox(MyAdapter, "tenants/my-province.toml") as target:
            yield target

or, against a live system, yield ``ConformanceTarget(adapter=..., control=None, known_codes=[...])``.
Each test checks one declared capability and skips what the adapter does not declare; the
undeclared ones must raise ``NotSupported``. Tests that need to steer the system (move a dossier,
inject a 503, read back what it received) need a ``SandboxControl`` and skip on live systems.
"""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest

from motcua.onestop.codes import normalize_code
from motcua.onestop.contract import (
    CAPABILITY_METHODS, Adapter, Capability, Malformed, NotSupported, Rejected, Unavailable,
)
from motcua.onestop.records import (
    Evaluation, Feedback, PostalAddress, PostalRequest, Status, Submission,
)
from motcua.onestop.sandbox_world import SandboxControl, sandbox_secret

__all__ = [
    "ConformanceTarget", "serve_sandbox",
    "test_conformance_declares_capabilities", "test_conformance_undeclared_raise_not_supported",
    "test_conformance_lookup_found", "test_conformance_lookup_not_found", "test_conformance_status_mapping_totality",
    "test_conformance_change_feed_walk_and_resume", "test_conformance_change_feed_sees_new_changes",
    "test_conformance_malformed_records_are_quarantined", "test_conformance_unavailable_on_5xx",
    "test_conformance_unavailable_on_timeout", "test_conformance_malformed_body",
    "test_conformance_expired_token_is_refetched", "test_conformance_rejected_on_bad_credentials",
    "test_conformance_lookup_by_owner", "test_conformance_submission_round_trip",
    "test_conformance_evaluation_round_trip", "test_conformance_feedback_round_trip",
    "test_conformance_postal_round_trip", "test_conformance_procedures", "test_conformance_push_events",
]

MISSING_CODE = "000.00.00.H00-000101-9999"


@dataclass
class ConformanceTarget:
    """What the suite tests: an adapter, the system's control API when it is a sandbox, and
    codes known to exist there. ``make_adapter(settings=..., secrets=...)`` builds a fresh
    instance with overrides (for resume, timeout and bad-credential checks)."""

    adapter: Adapter
    control: SandboxControl | None = None
    known_codes: list[str] = field(default_factory=list)
    missing_code: str = MISSING_CODE
    make_adapter: Callable[..., Adapter] | None = None
    submission_procedure: str = "1.001193"  # used when the adapter cannot list procedures


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def serve_sandbox(adapter_cls: type[Adapter], tenant: Any, *, page_size: int | None = 10,
                        settings: Mapping[str, Any] | None = None) -> AsyncIterator[ConformanceTarget]:
    """Start ``adapter_cls.sandbox_app`` for a tenant (a ``Tenant`` or the path of a tenant file)
    on a free loopback port, and yield a target whose adapter points at it. A small page size
    makes the change feed page even on the sandbox's few dozen dossiers."""
    from motcua.onestop.sandbox import serve_app, stop_server
    from motcua.tenancy.loader import load_file

    if isinstance(tenant, (str, Path)):
        loaded, problems = load_file(Path(tenant))
        assert loaded is not None, [str(p) for p in problems]
        tenant = loaded
    cfg = tenant.file.adapter
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(str(cfg.settings["base_url"])))
    port = _free_port()
    table = {k: (v.replace(origin, f"http://127.0.0.1:{port}") if isinstance(v, str) else v)
             for k, v in cfg.settings.items()}
    table.update(settings or {})
    if page_size and "page_size" in {f.name for f in msgspec.structs.fields(adapter_cls.Settings)}:
        table["page_size"] = page_size
    typed = msgspec.convert(table, type=adapter_cls.Settings, strict=False)
    default_secrets = {k.removesuffix("_env"): sandbox_secret(tenant, k.removesuffix("_env")) for k in cfg.secrets}

    def make_adapter(*, settings: Mapping[str, Any] | None = None, secrets: Mapping[str, str] | None = None) -> Adapter:
        merged = msgspec.convert({**table, **(settings or {})}, type=adapter_cls.Settings, strict=False)
        return adapter_cls(merged, secrets=default_secrets if secrets is None else secrets, status_map=cfg.status_map)

    server = await serve_app(adapter_cls.sandbox_app(typed, tenant), "127.0.0.1", port)  # type: ignore[attr-defined]
    control = SandboxControl(f"http://127.0.0.1:{port}")
    adapter = make_adapter()
    try:
        codes = [d["code"] for d in (await control.dossiers())[:5]]
        yield ConformanceTarget(adapter=adapter, control=control, known_codes=codes, make_adapter=make_adapter)
    finally:
        await adapter.aclose()
        await control.aclose()
        await stop_server(server)


# -- helpers -----------------------------------------------------------------------------------

def _require(target: ConformanceTarget, *caps: Capability) -> None:
    missing = [c for c in caps if c not in target.adapter.capabilities]
    if missing:
        pytest.skip(f"the adapter does not declare {', '.join(missing)}")


def _control(target: ConformanceTarget) -> SandboxControl:
    if target.control is None:
        pytest.skip("needs a sandbox control API (live system)")
    return target.control


async def _known(target: ConformanceTarget) -> list[str]:
    if target.known_codes:
        return target.known_codes
    if target.control:
        return [d["code"] for d in (await target.control.dossiers())[:5]]
    pytest.skip("no known dossier codes for this target")


async def _walk(adapter: Adapter, cursor: str | None, *, max_pages: int = 500, partial: bool = False):
    """Pages from ``cursor`` to the end of the feed: (dossier codes in order, quarantined, cursors)."""
    codes: list[str] = []
    quarantined: list[Any] = []
    cursors: list[str] = []
    for _ in range(max_pages):
        page = await adapter.changes(cursor)
        assert isinstance(page.cursor, str) and page.cursor, "a page must hand back a cursor"
        assert not (page.has_more and page.cursor in cursors), "the feed handed back a cursor it had already given"
        codes += [normalize_code(d.code) for d in page.dossiers]
        quarantined += page.quarantined
        cursor = page.cursor
        cursors.append(cursor)
        if not page.has_more:
            return codes, quarantined, cursors
    if partial:
        return codes, quarantined, cursors
    raise AssertionError(f"the change feed did not end within {max_pages} pages")


async def _any_read(target: ConformanceTarget, adapter: Adapter | None = None) -> Any:
    """One cheap declared read, to probe error handling."""
    adapter = adapter or target.adapter
    caps = adapter.capabilities
    if Capability.lookup_by_code in caps:
        return await adapter.lookup((await _known(target))[0])
    if Capability.change_feed in caps:
        return await adapter.changes(None)
    if Capability.procedures in caps:
        return await adapter.procedures()
    pytest.skip("the adapter declares no read capability")


def _sample_args(cap: Capability) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return {
        Capability.lookup_by_code: ((MISSING_CODE,), {}),
        Capability.lookup_by_owner: ((), {"phone": "0900000000"}),
        Capability.change_feed: ((None,), {}),
        Capability.push_events: ((b"{}", {}), {}),
        Capability.submission: ((Submission(idempotency_key="k", procedure_code="1.001193", applicant_name="A"),), {}),
        Capability.evaluation: ((Evaluation(dossier_code=MISSING_CODE, overall=3),), {}),
        Capability.feedback: ((Feedback(reference="r", category="khac", title="t", content="c"),), {}),
        Capability.postal: ((PostalRequest(dossier_code=MISSING_CODE, address=_ADDRESS),), {}),
        Capability.procedures: ((), {}),
    }[cap]


_ADDRESS = PostalAddress(receiver_name="Nguyễn Văn An", phone="0912345678", province_code="96", ward_code="32002",
                         street="Số 12 đường Phan Ngọc Hiển")


# -- the suite ---------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_conformance_declares_capabilities(conformance_target: ConformanceTarget) -> None:
    adapter = conformance_target.adapter
    cls = type(adapter)
    assert isinstance(cls.family, str) and cls.family, "an adapter family needs a name"
    assert issubclass(cls.Settings, msgspec.Struct), "Settings must be a msgspec Struct"
    assert set(cls.capabilities) <= set(Capability)
    assert cls.capabilities, "an adapter that declares nothing cannot serve anyone"
    for cap in cls.capabilities:
        method = CAPABILITY_METHODS[cap]
        assert getattr(cls, method) is not getattr(Adapter, method), f"{cap} is declared but {method}() is not implemented"


@pytest.mark.asyncio
async def test_conformance_undeclared_raise_not_supported(conformance_target: ConformanceTarget) -> None:
    adapter = conformance_target.adapter
    undeclared = [c for c in Capability if c not in adapter.capabilities]
    for cap in undeclared:
        args, kwargs = _sample_args(cap)
        with pytest.raises(NotSupported):
            await getattr(adapter, CAPABILITY_METHODS[cap])(*args, **kwargs)


@pytest.mark.asyncio
async def test_conformance_lookup_found(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    _require(target, Capability.lookup_by_code)
    for code in await _known(target):
        before = await target.control.dossier(code) if target.control else None
        for typed in (code, code.lower(), normalize_code(code)):  # however the citizen typed it
            d = await target.adapter.lookup(typed)
            assert d is not None, f"{typed} exists but lookup() found nothing"
            assert normalize_code(d.code) == normalize_code(code)
        assert isinstance(d.status, Status)
        assert d.raw_status.code, "the raw status must be kept"
        assert d.status == target.adapter.map_status(d.raw_status.code), "status must come from the status table"
        after = await target.control.dossier(code) if target.control else None
        # Compare with the system's own view unless the dossier moved on meanwhile (its clock runs).
        if before and after and before["history"] == after["history"] and after["raw_status"] is None:
            assert d.status == Status(after["status"]), f"{code}: the system says {after['status']}, mapped {d.status}"


@pytest.mark.asyncio
async def test_conformance_lookup_not_found(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    _require(target, Capability.lookup_by_code)
    assert await target.adapter.lookup(target.missing_code) is None


@pytest.mark.asyncio
async def test_conformance_status_mapping_totality(conformance_target: ConformanceTarget) -> None:
    """Every canonical status the system can be in comes back as itself; a raw status no table
    covers comes back as ``unknown`` with the raw value kept."""
    target = conformance_target
    _require(target, Capability.lookup_by_code)
    control = _control(target)
    code = (await control.create(status="received"))["code"]
    for status in [s for s in Status if s is not Status.unknown]:
        await control.move(code, status)
        d = await target.adapter.lookup(code)
        assert d is not None and d.status is status, f"{status}: mapped as {d and d.status} (raw {d and d.raw_status})"
        assert d.raw_status.code
    await control.move(code, raw="99")
    d = await target.adapter.lookup(code)
    assert d is not None and d.status is Status.unknown, "an unmapped raw status must be unknown, never a guess"
    assert d.raw_status.code == "99"


@pytest.mark.asyncio
async def test_conformance_change_feed_walk_and_resume(conformance_target: ConformanceTarget) -> None:
    """A walk from the start yields each dossier once and misses none; resuming from any cursor
    with a fresh adapter yields exactly the rest."""
    target = conformance_target
    _require(target, Capability.change_feed)
    control = _control(target)
    await control.advance(2)  # every change so far is now safely behind the window end
    expected = {normalize_code(d["code"]) for d in await control.dossiers()}
    codes, quarantined, cursors = await _walk(target.adapter, None)
    assert len(codes) == len(set(codes)), "the feed yielded a dossier twice"
    seen = set(codes) | {normalize_code(q.code) for q in quarantined if q.code}
    assert seen == expected, f"missed {sorted(expected - seen)[:5]}, extra {sorted(seen - expected)[:5]}"
    if len(cursors) < 2:
        pytest.skip("the feed fits one page; resume is trivially right")
    for cut in (0, len(cursors) // 2):
        fresh = target.make_adapter() if target.make_adapter else target.adapter
        try:
            first, _, _ = await _walk(target.adapter, None, max_pages=cut + 1, partial=True)
            rest, _, _ = await _walk(fresh, cursors[cut])
        finally:
            if fresh is not target.adapter:
                await fresh.aclose()
        assert not set(codes[:len(first)]) & set(rest), "resuming yielded a dossier twice"
        assert codes[:len(first)] + rest == codes, "resuming lost or reordered dossiers"


@pytest.mark.asyncio
async def test_conformance_change_feed_sees_new_changes(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    _require(target, Capability.change_feed)
    control = _control(target)
    await control.advance(2)
    _, _, cursors = await _walk(target.adapter, None)
    end = cursors[-1]
    code = (await control.create(status="received"))["code"]
    await control.move(code, "processing")
    await control.advance(2)
    codes, _, cursors = await _walk(target.adapter, end)
    assert codes.count(normalize_code(code)) == 1, "a changed dossier must appear once in the next pages"
    again, _, _ = await _walk(target.adapter, cursors[-1])
    assert normalize_code(code) not in again, "a change must not be reported again after its cursor"


@pytest.mark.asyncio
async def test_conformance_malformed_records_are_quarantined(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    _require(target, Capability.change_feed)
    control = _control(target)
    await control.advance(2)
    _, _, cursors = await _walk(target.adapter, None)
    good = (await control.create(status="received"))["code"]
    bad = (await control.create(status="received"))["code"]
    await control.corrupt(bad)
    await control.advance(2)
    codes, quarantined, _ = await _walk(target.adapter, cursors[-1])
    assert normalize_code(good) in codes, "one bad record must not stop the others"
    assert normalize_code(bad) not in codes
    assert any(q.code and normalize_code(q.code) == normalize_code(bad) and q.raw and q.reason for q in quarantined)
    if Capability.lookup_by_code in target.adapter.capabilities:
        with pytest.raises(Malformed):
            await target.adapter.lookup(bad)


@pytest.mark.asyncio
async def test_conformance_unavailable_on_5xx(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    control = _control(target)
    await control.fault(status=503)
    try:
        with pytest.raises(Unavailable):
            await _any_read(target)
    finally:
        await control.clear_faults()
    await _any_read(target)  # and it recovers


@pytest.mark.asyncio
async def test_conformance_unavailable_on_timeout(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    control = _control(target)
    fields = {f.name for f in msgspec.structs.fields(type(target.adapter).Settings)}
    if target.make_adapter is None or "timeout_seconds" not in fields:
        pytest.skip("the adapter has no timeout_seconds setting")
    impatient = target.make_adapter(settings={"timeout_seconds": 0.3})
    await control.fault(latency_ms=1200)
    try:
        with pytest.raises(Unavailable):
            await _any_read(target, impatient)
    finally:
        await control.clear_faults()
        await impatient.aclose()


@pytest.mark.asyncio
async def test_conformance_malformed_body(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    control = _control(target)
    await _any_read(target)  # sign in first, so the truncated body is the answer itself
    await control.fault(malformed=1)
    try:
        with pytest.raises(Malformed):
            await _any_read(target)
    finally:
        await control.clear_faults()


@pytest.mark.asyncio
async def test_conformance_expired_token_is_refetched(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    control = _control(target)
    await _any_read(target)
    before = (await control.state())["tokens_issued"]
    if not before:
        pytest.skip("the system issues no tokens")
    await control.fault(expire_tokens=True)
    await _any_read(target)  # the adapter must sign in again by itself
    assert (await control.state())["tokens_issued"] > before
    await control.advance(24 * 3600)  # and when the token simply runs out on the system's clock
    await _any_read(target)


@pytest.mark.asyncio
async def test_conformance_rejected_on_bad_credentials(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    if target.make_adapter is None or not target.adapter.secrets:
        pytest.skip("no credentials to spoil")
    wrong = target.make_adapter(secrets={k: "not-the-secret" for k in target.adapter.secrets})
    try:
        with pytest.raises(Rejected):
            await _any_read(target, wrong)
    finally:
        await wrong.aclose()


@pytest.mark.asyncio
async def test_conformance_lookup_by_owner(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    _require(target, Capability.lookup_by_owner)
    control = _control(target)
    created = await control.create(status="processing", applicant_phone="0987001122",
                                   applicant_id_number="096201001122")
    by_phone = await target.adapter.lookup_by_owner(phone="0987001122")
    by_zalo_phone = await target.adapter.lookup_by_owner(phone="84987001122")  # the form Zalo gives
    by_id = await target.adapter.lookup_by_owner(id_number="096201001122")
    assert normalize_code(created["code"]) in {normalize_code(d.code) for d in by_phone}
    assert normalize_code(created["code"]) in {normalize_code(d.code) for d in by_id}
    assert normalize_code(created["code"]) in {normalize_code(d.code) for d in by_zalo_phone}
    assert await target.adapter.lookup_by_owner(phone="0900000009") == []


@pytest.mark.asyncio
async def test_conformance_submission_round_trip(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    _require(target, Capability.submission)
    adapter = target.adapter
    procedure = target.submission_procedure
    fields: dict[str, str] = {}
    if Capability.procedures in adapter.capabilities:
        online = [p for p in await adapter.procedures() if p.online]
        assert online, "submission is declared but no procedure can be submitted online"
        procedure = online[0].code
        fields = {f.name: "2025-11-19" if f.type == "date" else "1" if f.type == "number" else "Nguyễn Thị Mai"
                  for f in online[0].form}
    key = str(uuid.uuid4())
    submission = Submission(idempotency_key=key, procedure_code=procedure, applicant_name="Nguyễn Thị Mai",
                            applicant_phone="0912000111", fields=fields)
    receipt = await adapter.submit(submission)
    assert receipt.code
    again = await adapter.submit(submission)
    assert normalize_code(again.code) == normalize_code(receipt.code), "a retried submission must not create a second dossier"
    if target.control:
        got = [s for s in await target.control.received("submissions") if s["idempotency_key"] == key]
        assert len(got) == 1 and normalize_code(got[0]["code"]) == normalize_code(receipt.code)
    if Capability.lookup_by_code in adapter.capabilities:
        d = await adapter.lookup(receipt.code)
        assert d is not None and d.status is Status.submitted
    with pytest.raises(Rejected):
        await adapter.submit(Submission(idempotency_key=str(uuid.uuid4()), procedure_code="9.999999",
                                        applicant_name="Nguyễn Thị Mai"))


@pytest.mark.asyncio
async def test_conformance_evaluation_round_trip(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    _require(target, Capability.evaluation)
    code = (await _known(target))[0]
    await target.adapter.rate(Evaluation(dossier_code=code, overall=3, criteria={"1": 2, "7": 2},
                                         comment="Cán bộ hướng dẫn tận tình"))
    if target.control:
        got = [e for e in await target.control.received("evaluations")
               if normalize_code(e["dossier_code"]) == normalize_code(code)]
        assert got and int(got[-1]["overall"]) == 3
    with pytest.raises(Rejected):
        await target.adapter.rate(Evaluation(dossier_code=target.missing_code, overall=3))


@pytest.mark.asyncio
async def test_conformance_feedback_round_trip(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    _require(target, Capability.feedback)
    reference = f"PA-{uuid.uuid4().hex[:8]}"
    ref = await target.adapter.send_feedback(Feedback(
        reference=reference, category="thu-tuc-hanh-chinh", title="Chậm trả kết quả",
        content="Hồ sơ của tôi đã quá hạn hai ngày mà chưa có kết quả."))
    assert isinstance(ref, str) and ref
    if target.control:
        got = await target.control.received("feedback")
        assert any(f["reference"] == reference and f["title"] == "Chậm trả kết quả" for f in got)


@pytest.mark.asyncio
async def test_conformance_postal_round_trip(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    _require(target, Capability.postal)
    code = (await _known(target))[0]
    receipt = await target.adapter.request_postal(PostalRequest(dossier_code=code, address=_ADDRESS, fee=25000))
    assert receipt.reference
    if target.control:
        got = await target.control.received("postal")
        assert any(normalize_code(p["dossier_code"]) == normalize_code(code) for p in got)


@pytest.mark.asyncio
async def test_conformance_procedures(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    _require(target, Capability.procedures)
    procedures = await target.adapter.procedures()
    assert procedures, "the catalogue is empty"
    assert len({p.code for p in procedures}) == len(procedures), "procedure codes repeat"
    for p in procedures:
        assert p.code and p.name
        if p.online:
            assert p.form, f"{p.code} can be submitted online but has no form"


@pytest.mark.asyncio
async def test_conformance_push_events(conformance_target: ConformanceTarget) -> None:
    target = conformance_target
    _require(target, Capability.push_events)
    control = _control(target)
    code = (await control.create(status="received"))["code"]
    await control.move(code, "supplement_required")
    body, headers = await control.push_sample(code)
    changes = await target.adapter.parse_push(body, headers)
    assert [normalize_code(c.dossier.code) for c in changes] == [normalize_code(code)]
    assert changes[0].event_id and changes[0].dossier.status is Status.supplement_required
    tampered = body.replace(b"supplement", b"supplemenT", 1) if b"supplement" in body else body + b" "
    with pytest.raises(Rejected):
        await target.adapter.parse_push(tampered, headers)
    unsigned = {k: v for k, v in headers.items() if "signature" not in k.lower()}
    with pytest.raises(Rejected):
        await target.adapter.parse_push(body, unsigned)
