"""The declarative mapping on its own: dotted paths, configured dates, narrowed capabilities."""

from datetime import datetime, timedelta, timezone

import msgspec
import pytest

from motcua.onestop.contract import Capability, NotSupported
from motcua.onestop.records import Status
from motcua_declarative import mapping
from motcua_declarative.adapter import DeclarativeAdapter, DeclarativeSettings
from motcua_declarative.sandbox import EXAMPLE_SETTINGS, EXAMPLE_STATUS_MAP
from motcua_declarative.wire import DeclarativeFields, get_path

VN = timezone(timedelta(hours=7))


def test_dotted_paths_walk_objects_and_lists_and_stop_at_gaps():
    doc = {"a": {"b": [{"c": 1}, {"c": 2}]}}
    assert get_path(doc, "a.b.1.c") == 2 and get_path(doc, "a.b.-1.c") == 2
    assert get_path(doc, "a.x.c") is None and get_path(doc, "a.b.5") is None and get_path(doc, "") is doc


def test_a_record_maps_through_the_configured_paths_and_status_words():
    fields = msgspec.convert(EXAMPLE_SETTINGS["fields"], type=DeclarativeFields)
    record = {"ma_ho_so": "000.00.07.H57-251119-0003", "trang_thai": {"ma": "CHO_BO_SUNG", "ten": "Chờ bổ sung"},
              "ngay": {"hen_tra": "26/11/2025 17:00:00"}, "truc_tuyen": True, "giay_to_bo_sung": ["Tờ khai"]}
    status_of = lambda raw: Status(EXAMPLE_STATUS_MAP[raw]) if raw in EXAMPLE_STATUS_MAP else Status.unknown  # noqa: E731
    [d], [] = mapping.map_records([record], fields, status_of, "%d/%m/%Y %H:%M:%S")
    assert (d.status, d.raw_status.code, d.online, d.missing_papers) == (Status.supplement_required, "CHO_BO_SUNG", True, ["Tờ khai"])
    assert d.due_at == datetime(2025, 11, 26, 17, 0, tzinfo=VN)
    dossiers, [q] = mapping.map_records([{**record, "trang_thai": {"ma": "LIEN_THONG"}}, {"ngay": {}}], fields, status_of, "%d/%m/%Y %H:%M:%S")
    assert dossiers[0].status is Status.unknown and q.code is None and "code" in q.reason


async def test_capabilities_follow_what_the_settings_configure():
    lookups_only = msgspec.convert({"base_url": "http://127.0.0.1:9", "lookup_path": "/hs/{code}",
                                    "fields": {"code": "ma", "status": "tt"}}, type=DeclarativeSettings)
    adapter = DeclarativeAdapter(lookups_only)
    assert adapter.capabilities == {Capability.lookup_by_code}
    with pytest.raises(NotSupported):
        await adapter.changes(None)
    with pytest.raises(NotSupported):
        await adapter.procedures()
