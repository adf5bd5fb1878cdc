"""Notification rules: which events notify, what the message says, and quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from motcua.domain.conversation.dossier import DossierView
from motcua.domain.notifications import rules

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def view(**kw) -> DossierView:
    base = dict(id=1, code="000.00.07.H12-251119-0001", code_key="X", status="resolved",
                procedure_name="Đăng ký khai sinh", agency_name="UBND Phường An Xuyên", agency_code="a",
                applicant_name="Nguyễn Văn An", applicant_key=None, received_at=datetime(2025, 11, 19, 2, tzinfo=UTC),
                submitted_at=None, due_at=datetime(2025, 11, 25, 10, tzinfo=UTC),
                finished_at=datetime(2025, 11, 21, 3, tzinfo=UTC), returned_at=None, missing_papers=[], note=None,
                synced_at=None)
    base.update(kw)
    return DossierView(**base)


@pytest.mark.parametrize("kind,status,data,expected", [
    ("created", "received", {}, "received"),
    ("status_changed", "supplement_required", {}, "supplement_required"),
    ("status_changed", "resolved", {}, "resolved"),
    ("status_changed", "returned", {}, "returned"),
    ("status_changed", "processing", {}, None),
    ("due_changed", None, {"old_due_at": "2025-11-25T10:00:00+00:00", "new_due_at": "2025-11-28T10:00:00+00:00"}, "overdue"),
    ("due_changed", None, {"old_due_at": "2025-11-25T10:00:00+00:00", "new_due_at": "2025-11-24T10:00:00+00:00"}, None),
    ("unknown_status", None, {}, None),
])
def test_events_to_notification_kinds(kind, status, data, expected):
    assert rules.kind_for_event(kind, status, data) == expected


def test_resolved_early_invites_to_pick_up_and_says_it_is_early():
    n = rules.render("resolved", view(), "https://x/t/ca-mau/hs/c?t=tok", tz="Asia/Ho_Chi_Minh", templates={})
    assert "Mời ông/bà đến nhận kết quả tại UBND Phường An Xuyên" in n.text
    assert "sớm hơn ngày hẹn (25/11/2025)" in n.text
    assert n.zns_params["ma_ho_so"] == "000.00.07.H12-251119-0001"


def test_resolved_on_the_due_day_does_not_claim_early():
    n = rules.render("resolved", view(finished_at=datetime(2025, 11, 25, 8, tzinfo=UTC)), "L", tz="Asia/Ho_Chi_Minh",
                     templates={})
    assert "sớm" not in n.text


def test_supplement_lists_the_papers_and_overdue_apologises_with_the_new_date():
    n = rules.render("supplement_required", view(status="supplement_required", missing_papers=["Giấy chứng sinh"]),
                     "L", tz="Asia/Ho_Chi_Minh", templates={}, event_data={"deadline": "2025-11-30T10:00:00+00:00"})
    assert "Giấy chứng sinh" in n.text and "30/11/2025" in n.text
    late = rules.render("overdue", view(status="processing", due_at=datetime(2025, 11, 28, 10, tzinfo=UTC)), "L",
                        tz="Asia/Ho_Chi_Minh", templates={}, event_note="chờ xác minh",
                        event_data={"old_due_at": "2025-11-25T10:00:00+00:00"})
    assert "xin lỗi" in late.text and "25/11/2025" in late.text and "28/11/2025" in late.text
    assert "chờ xác minh" in late.text


def test_a_tenant_template_overrides_the_default_and_unknown_placeholders_are_harmless():
    n = rules.render("returned", view(status="returned"), "L", tz="Asia/Ho_Chi_Minh",
                     templates={"returned": "Đã trả {code}. {khong_co} Đánh giá: {link}"})
    assert n.text == "Đã trả 000.00.07.H12-251119-0001.  Đánh giá: L"
    assert n.button == ("Đánh giá hài lòng", "L")


@pytest.mark.parametrize("local,expected", [
    (datetime(2025, 11, 20, 22, 30), datetime(2025, 11, 21, 7, 0)),   # evening: next morning
    (datetime(2025, 11, 21, 6, 59), datetime(2025, 11, 21, 7, 0)),    # before dawn: this morning
    (datetime(2025, 11, 21, 7, 0), None),                              # daytime: now
    (datetime(2025, 11, 21, 20, 59), None),
])
def test_quiet_hours_delay_to_their_end_never_drop(local, expected):
    at = rules.after_quiet_hours(local.replace(tzinfo=VN).astimezone(UTC), "21:00", "07:00", "Asia/Ho_Chi_Minh")
    assert at == (expected.replace(tzinfo=VN) if expected else None)


def test_quiet_hours_that_do_not_wrap_midnight():
    noon = datetime(2025, 11, 21, 12, 30, tzinfo=VN)
    assert rules.after_quiet_hours(noon, "12:00", "13:30", "Asia/Ho_Chi_Minh") == noon.replace(hour=13, minute=30)
    assert rules.after_quiet_hours(noon + timedelta(hours=2), "12:00", "13:30", "Asia/Ho_Chi_Minh") is None
