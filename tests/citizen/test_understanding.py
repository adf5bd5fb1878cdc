"""What citizens actually type is understood: diacritics optional, typos and spacing tolerated."""

from __future__ import annotations

import pytest

from motcua.domain.conversation.intents import understand
from motcua.domain.conversation.text import fit, fold

LAND = [("land_prices", ("gia dat", "bang gia dat"))]


@pytest.mark.parametrize("text", [
    "000.00.07.H12-251119-0001",
    "000.00.07.h12-251119-0001",
    "tra cứu 000.00.07.H12-251119-0001",
    "tra cuu 000 00 07 h12 251119 0001",
    "Cho hỏi hồ sơ 000.00.07.H12 - 251119 - 0001 tới đâu rồi ạ",
])
def test_a_code_anywhere_is_a_lookup_of_that_code(text):
    intent = understand(text, LAND)
    assert (intent.kind, intent.arg) == ("code", "0000007H122511190001")


@pytest.mark.parametrize("text,kind", [
    ("tra cứu hồ sơ", "lookup_prompt"), ("tra cuu ho so", "lookup_prompt"), ("tracuu hoso", "lookup_prompt"),
    ("Tra cưu hồ sơ", "lookup_prompt"),
    ("hồ sơ của tôi", "mine"), ("ho so cua toi", "mine"), ("hồ sơ của tui", "mine"),
    ("gặp cán bộ", "human"), ("gap can bo", "human"), ("gap cna bo", "human"), ("cho tôi gặp cán bộ với", "human"),
    ("dừng thông báo", "stop"), ("dung thong bao", "stop"), ("huỷ thông báo", "stop"),
    ("giá đất đường Trần Hưng Đạo", "utility"), ("gia dat duong tran hung dao", "utility"),
    ("xin chào", "menu"), ("chao", "menu"), ("cảm ơn", "thanks"),
    ("Nhà tôi bị cắt điện từ hôm qua", "unknown"),
])
def test_phrases_people_type(text, kind):
    assert understand(text, LAND).kind == kind


@pytest.mark.parametrize("text", ["khai sinh cần giấy tờ gì", "khai sinh can giay to gi", "Khai  sinh cần giấy tờ gì?",
                                  "thủ tục khai sinh", "làm khai sinh mất bao lâu"])
def test_procedure_questions_keep_only_the_subject(text):
    intent = understand(text, LAND)
    assert intent.kind == "procedure"
    assert "khai sinh" in intent.arg and "giay" not in intent.arg


def test_utilities_are_only_understood_when_the_tenant_switched_them_on():
    assert understand("giá đất đường Trần Hưng Đạo", []).kind != "utility"


def test_folding_matches_the_database_function():
    assert fold("Đăng ký KHAI SINH, thủ tục!") == "dang ky khai sinh thu tuc"


def test_replies_fit_zalo_limits_and_are_cut_kindly():
    long = "\n".join(f"Dòng {i}: " + "chữ " * 30 for i in range(100))
    out = fit(long)
    assert len(out) <= 2000 and out.endswith("…")
    assert fit("  ngắn  ") == "ngắn"
