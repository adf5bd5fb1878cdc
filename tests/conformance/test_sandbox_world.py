"""The shared sandbox world on its own: deterministic, realistic, and steerable."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from motcua.onestop.codes import is_canonical_code
from motcua.onestop.records import Status, Timing, timing
from motcua.onestop.sandbox_world import VN, Faults, World, add_working_days
from motcua.tenancy.loader import load_file

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2025, 11, 19, 9, 0, tzinfo=VN)


@pytest.fixture(scope="module")
def ca_mau():
    tenant, problems = load_file(ROOT / "tenants" / "ca-mau.toml")
    assert tenant, problems
    return tenant


def snapshot(world: World):
    return [(d.code, d.status, d.applicant_name, d.due_at) for d in world.dossiers.values()]


def test_the_same_province_and_start_give_the_same_world(ca_mau):
    a, b = World(ca_mau, start=START, speed=0), World(ca_mau, start=START, speed=0)
    assert snapshot(a) == snapshot(b)
    a.advance(5 * 86400)
    b.advance(5 * 86400)
    assert snapshot(a) == snapshot(b)


def test_dossiers_look_real_and_live_their_lives(ca_mau):
    world = World(ca_mau, start=START, speed=0, initial=60)
    agencies = {a.code for a in ca_mau.file.agencies}
    for d in world.dossiers.values():
        assert is_canonical_code(d.code) and d.code.split("-")[0] in agencies
        assert d.code.split("-")[1] == d.submitted_at.strftime("%y%m%d")
        assert d.applicant_phone.startswith("09") and len(d.applicant_id_number) == 12
    statuses = {d.status for d in world.dossiers.values()}
    assert {Status.processing, Status.returned} <= statuses
    world.advance(60 * 86400)  # two months on, every seeded life has ended
    ended = {d.status for d in world.dossiers.values()}
    assert ended <= {Status.returned, Status.not_accepted, Status.withdrawn, Status.stopped}
    timings = {timing(d.due_at, d.finished_at, world.now()) for d in world.dossiers.values() if d.status is Status.returned}
    assert {Timing.early, Timing.overdue} <= timings, "some finish early, some late"


def test_change_windows_are_stable_while_a_listed_dossier_changes_again(ca_mau):
    world = World(ca_mau, start=START, speed=0)
    end = world.window_end(timedelta(seconds=1))
    before = [d.code for d in world.changed_between(None, end)]
    world.advance(10)
    world.move(before[0], Status.stopped)
    assert [d.code for d in world.changed_between(None, end)] == before
    assert before[0] in [d.code for d in world.changed_between(end, world.window_end(timedelta(seconds=1)) + timedelta(seconds=1))]


def test_control_moves_submissions_and_faults(ca_mau):
    world = World(ca_mau, start=START, speed=0)
    d = world.create(procedure_code="1.001193", status=Status.received)
    assert d.due_at == add_working_days(d.received_at, 1) and d.procedure.name == "Đăng ký khai sinh"
    world.move(d.code, raw="99")
    assert d.raw_override == "99"
    first = world.submit(idempotency_key="k1", procedure_code="1.001193", applicant_name="Lê Thị Hạnh")
    again = world.submit(idempotency_key="k1", procedure_code="1.001193", applicant_name="Lê Thị Hạnh")
    assert first is again and len(world.received["submissions"]) == 1 and first.status is Status.submitted
    with pytest.raises(KeyError):
        world.submit(idempotency_key="k2", procedure_code="1.009994", applicant_name="A")  # not online
    faults = Faults(status=503, count=2)
    assert [faults.take_failure() for _ in range(3)] == [503, 503, None]
