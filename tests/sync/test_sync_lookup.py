"""Lookups: live when the system answers, our copy with its age when it does not; merged provinces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from motcua.domain.dossiers import lookup as lookup_module
from motcua.domain.dossiers.lookup import lookup, lookup_by_owner, lookup_code_anywhere, resolve_tenant_for_code
from motcua.onestop.records import RawStatus, Status
from motcua.tenancy.schema import AdapterConfig, FormerProvince

from .conftest import SYSTEMS, MemorySystem, dossier

CODE = "000.00.07.X31-251119-0001"


@pytest.fixture(scope="module")
async def merged(apply):
    """A merged province: its own system, and the former province's historic one for old codes."""
    SYSTEMS.setdefault("bac-lieu-historic", MemorySystem())
    return await apply("lookup-merged", "X31", former=[FormerProvince(
        name="Tỉnh Bạc Liêu", stat_code="95", agency_code="X06", adapter="bac-lieu")],
        adapters={"bac-lieu": AdapterConfig(family="memory", settings={"system": "bac-lieu-historic"})})


async def test_a_live_lookup_answers_and_stores_what_the_system_says(sync_runtime, merged):
    system = SYSTEMS[merged]
    system.put(dossier(CODE, applicant_phone="0987654321"))
    result = await lookup(sync_runtime, merged, "000 00 07 x31 251119 0001")
    assert result.source == "live" and not result.stale and result.age_seconds < 5
    assert result.dossier.code == CODE and result.dossier.status == Status.received
    assert [e.kind for e in result.events] == ["created"]
    # The system moved on: the next lookup is also a sync, with its timeline event.
    system.change(CODE, status=Status.supplement_required, raw_status=RawStatus(code="5"),
                  missing_papers=["Bản sao giấy chứng sinh"], updated_at=datetime.now(UTC))
    result = await lookup(sync_runtime, merged, CODE)
    assert result.dossier.status == Status.supplement_required
    assert result.dossier.missing_papers == ["Bản sao giấy chứng sinh"]
    assert [e.kind for e in result.events] == ["created", "status_changed"]


async def test_with_the_system_down_the_last_known_status_comes_with_its_age(sync_runtime, merged):
    system = SYSTEMS[merged]
    async with sync_runtime.db.tenant(merged) as conn:  # as if the last sync were two hours ago
        await conn.execute("UPDATE dossier SET synced_at = now() - interval '2 hours'")
    system.down = True
    try:
        result = await lookup(sync_runtime, merged, CODE)
    finally:
        system.down = False
    assert result.source == "cache" and result.stale and "503" in result.error
    assert result.dossier.status == Status.supplement_required
    assert 7100 < result.age_seconds < 7300


async def test_a_slow_system_is_not_waited_for(sync_runtime, merged, monkeypatch):
    monkeypatch.setattr(lookup_module, "LOOKUP_TIMEOUT", 0.2)
    SYSTEMS[merged].latency = 2.0
    try:
        result = await lookup(sync_runtime, merged, CODE)
    finally:
        SYSTEMS[merged].latency = 0
    assert result.stale and result.dossier.code == CODE and "0.2" in result.error


async def test_unknown_codes_are_none_and_known_ones_answer_by_any_of_their_codes(sync_runtime, merged):
    assert await lookup(sync_runtime, merged, "000.00.07.X31-251119-9999") is None
    assert await lookup(sync_runtime, merged, "   ") is None
    other = "000.00.07.X31-251119-0002"
    SYSTEMS[merged].put(dossier(other, alt_codes=["MC-77-0002"]))
    await lookup(sync_runtime, merged, other)
    SYSTEMS[merged].dossiers.pop(other)  # the system no longer finds it by that code...
    result = await lookup(sync_runtime, merged, "mc 77 0002")  # ...we still do, by its other code
    assert result.dossier.code == other and result.source == "cache" and not result.stale


async def test_a_pre_merger_code_goes_to_the_province_and_its_historic_system(sync_runtime, merged):
    old = "000.00.07.X06-240315-0042"
    SYSTEMS["bac-lieu-historic"].put(dossier(old, Status.returned, "10", returned_at=datetime(2024, 4, 1, tzinfo=UTC)))
    route = await resolve_tenant_for_code(sync_runtime, old)
    assert (route.tenant, route.adapter_name, route.former) == (merged, "bac-lieu", "Tỉnh Bạc Liêu")
    assert (await resolve_tenant_for_code(sync_runtime, CODE)).adapter_name == ""
    assert await resolve_tenant_for_code(sync_runtime, "000.00.07.Q99-240315-0042") is None
    result = await lookup_code_anywhere(sync_runtime, old)
    assert result.tenant == merged and result.source == "live" and result.dossier.status == Status.returned
    assert ("lookup", old) in SYSTEMS["bac-lieu-historic"].calls
    assert ("lookup", old) not in SYSTEMS[merged].calls


async def test_my_dossiers_by_phone_live_then_from_our_copy(sync_runtime, apply):
    slug = await apply("lookup-owner", "X32")
    system = SYSTEMS[slug]
    mine = [dossier(f"000.00.07.X32-251119-000{n}", applicant_phone="0912 000 111",
                    received_at=datetime(2025, 11, 19, tzinfo=UTC) + timedelta(days=n)) for n in (1, 2)]
    for d in mine:
        system.put(d)
    system.put(dossier("000.00.07.X32-251119-0009", applicant_phone="0912 999 999"))
    found = await lookup_by_owner(sync_runtime, slug, phone="+84 912 000 111")
    assert found.source == "live" and [d.code for d in found.dossiers] == [mine[1].code, mine[0].code]
    system.down = True
    try:
        cached = await lookup_by_owner(sync_runtime, slug, phone="0912000111")
    finally:
        system.down = False
    assert cached.stale and [d.code for d in cached.dossiers] == [mine[1].code, mine[0].code]
    assert (await lookup_by_owner(sync_runtime, slug)).dossiers == []
