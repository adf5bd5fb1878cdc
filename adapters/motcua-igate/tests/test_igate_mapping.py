"""iGate's mapping on its own: dates with +0700 offsets, the per-tenant status table, quarantine."""

from datetime import datetime, timedelta, timezone

import msgspec

from motcua.onestop.records import Status
from motcua_igate import mapping
from motcua_igate.adapter import DEFAULT_STATUS_MAP, IGateAdapter, IGateSettings

VN = timezone(timedelta(hours=7))
SETTINGS = IGateSettings(base_url="http://x", token_url="http://x/t", client_id="c", agency_id="H12")


def record(**over):
    base = {"id": "6561a0", "code": "000.00.07.H12-251119-0001", "dossierStatus": {"id": 3, "name": "Chờ bổ sung"},
            "appliedDate": "2025-11-19T08:15:00.000+0700", "appointmentDate": "2025-11-26T17:00:00.000+0700",
            "applyMethod": {"id": 1}, "additionalRequirement": ["Tờ khai có chữ ký"], "newField": {"x": 1}}
    return msgspec.json.encode({**base, **over})


def test_a_record_maps_with_raw_status_kept_and_unknown_fields_ignored():
    adapter = IGateAdapter(SETTINGS)
    [d], [] = mapping.map_records([msgspec.Raw(record())], adapter.map_status)
    assert d.status is Status.supplement_required and d.raw_status.code == "3" and d.raw_status.label == "Chờ bổ sung"
    assert d.submitted_at == datetime(2025, 11, 19, 8, 15, tzinfo=VN) and d.online
    assert d.missing_papers == ["Tờ khai có chữ ký"] and d.alt_codes == ["6561a0"]


def test_the_tenant_table_overrides_the_default_and_unlisted_ids_are_unknown():
    adapter = IGateAdapter(SETTINGS, status_map={"16": "processing"})
    assert adapter.map_status("16") is Status.processing
    assert adapter.map_status("17") is Status.unknown
    assert set(DEFAULT_STATUS_MAP.values()) == {s for s in Status if s is not Status.unknown}


def test_a_malformed_record_is_quarantined_not_dropped():
    adapter = IGateAdapter(SETTINGS)
    raws = [msgspec.Raw(record()), msgspec.Raw(record(code="000.00.07.H12-251119-0002", appliedDate="hôm qua")),
            msgspec.Raw(b'{"dossierStatus": {"id": 1}}')]
    dossiers, quarantined = mapping.map_records(raws, adapter.map_status)
    assert [d.code for d in dossiers] == ["000.00.07.H12-251119-0001"]
    assert [q.code for q in quarantined] == ["000.00.07.H12-251119-0002", None]
    assert all(q.reason and q.raw for q in quarantined)
