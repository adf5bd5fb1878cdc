"""Canonical statuses, timing flags, dossier codes."""

from datetime import UTC, datetime, timedelta

import pytest

from motcua.onestop import Status, Timing, find_code, normalize_code, timing
from motcua.onestop.codes import agency_province_code, is_canonical_code


def test_statuses_follow_the_national_codes_one_to_one():
    assert [s.value for s in Status][:10] == [
        "submitted", "received", "not_accepted", "processing", "supplement_required",
        "awaiting_payment", "withdrawn", "stopped", "resolved", "returned"]
    assert [Status.from_national_code(i) for i in range(1, 11)] == list(Status)[:10]
    assert Status.from_national_code("9") is Status.resolved
    assert Status.from_national_code(11) is Status.unknown  # never guessed
    assert Status.resolved.national_code == 9 and Status.unknown.national_code is None
    assert Status.supplement_required.label_vi == "Yêu cầu bổ sung giấy tờ"


D = datetime(2025, 11, 28, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize(("finished", "now", "expected"), [
    (D - timedelta(days=2), D, Timing.early),
    (D - timedelta(hours=3), D, Timing.on_time),  # same day counts as on time
    (D + timedelta(hours=2), D, Timing.on_time),  # later the same day still on the due day
    (D + timedelta(days=1), D, Timing.overdue),
    (None, D - timedelta(days=1), Timing.on_time),
    (None, D + timedelta(minutes=1), Timing.overdue),
])
def test_timing_flags(finished, now, expected):
    assert timing(D, finished, now) is expected


def test_no_due_date_no_flag():
    assert timing(None, None, D) is None


def test_codes_compare_case_and_separator_insensitively():
    assert normalize_code("000.00.07.h12 - 251119-0001") == normalize_code("000.00.07.H12-251119-0001")
    assert is_canonical_code("000.00.07.H12-251119-0001")
    assert not is_canonical_code("G09.20-20260609-0092637")
    assert agency_province_code("000.00.07.H12-251119-0001") == "H12"


@pytest.mark.parametrize("text", [
    "tra cứu 000.00.07.H12-251119-0001 giúp tôi",
    "tra cuu ho so 000.00.07.h12-251119-0001",
    "000 00 07 H12 251119 0001",
    "Mã hồ sơ: 000.00.07.H12-251119-0001.",
])
def test_a_code_is_found_in_what_people_type(text):
    assert find_code(text) == "0000007H122511190001"


def test_no_code_in_plain_text():
    assert find_code("hồ sơ của tôi đến đâu rồi") is None
    assert find_code("gọi 0912345678 nhé") is None
