"""Helpers adapters share: how a typed code is written back for a system, and phone forms."""

import pytest

from motcua.onestop import format_code, local_phone, normalize_code


@pytest.mark.parametrize("typed", ["000.00.07.H12-251119-0001", "000.00.07.h12 - 251119 - 0001", "0000007H122511190001"])
def test_a_code_however_typed_is_written_in_the_national_form(typed):
    assert format_code(typed) == "000.00.07.H12-251119-0001"
    assert normalize_code(format_code(typed)) == normalize_code(typed)


def test_codes_of_other_schemes_are_left_as_given():
    assert format_code(" G09.20-20260609-0092637 ") == "G09.20-20260609-0092637"
    assert format_code("03706/2026/07906") == "03706/2026/07906"


@pytest.mark.parametrize("phone", ["0912345678", "84912345678", "+84 912 345 678", "091.234.5678"])
def test_phones_come_back_in_the_local_form(phone):
    assert local_phone(phone) == "0912345678"
