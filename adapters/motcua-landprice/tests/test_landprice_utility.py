"""The land price utility: installed through the entry point, and answers what people type."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from motcua.plugins import Plugins, UtilityRegistry
from motcua_landprice import plugin
from motcua_landprice.utility import LandPrices, parse_table


@dataclass
class Ctx:
    settings: dict = field(default_factory=lambda: {"file": "sample:dong-nai"})
    base_dir: Path = Path(".")


def test_it_is_installed_through_the_motcua_entry_point():
    assert "land_prices" in Plugins().utilities


def test_the_hook_registers_the_utility():
    reg = UtilityRegistry()
    plugin.motcua_register_utilities(registry=reg)
    assert reg["land_prices"].title == "Giá đất"


async def test_street_with_or_without_diacritics_and_with_a_typo():
    u = LandPrices()
    for text in ("giá đất đường Trần Hưng Đạo", "gia dat duong tran hung dao", "Giá đất đường Tran Hung Dao",
                 "gia dat tran hung dau"):
        answer = await u.answer(text, Ctx())
        assert "Trần Hưng Đạo" in answer, text
        assert "42.000.000 đ/m²" in answer  # position 1 of the first segment in the sample
        assert "dữ liệu mẫu" in answer


async def test_unknown_street_and_missing_street_get_kind_answers():
    u = LandPrices()
    assert "Chưa tìm thấy" in await u.answer("giá đất đường Không Có Thật", Ctx())
    assert "tên đường" in await u.answer("giá đất", Ctx())


async def test_a_province_file_relative_to_the_tenants_dir(tmp_path):
    (tmp_path / "gia.csv").write_text("duong,tu,den,phuong_xa,vt1,vt2,vt3,vt4\n"
                                      "Lê Lợi,,,Phường A,1.500.000,,,\n", encoding="utf-8")
    answer = await LandPrices().answer("giá đất đường le loi", Ctx({"file": "gia.csv", "source": "QĐ 1/2026"}, tmp_path))
    assert "1.500.000 đ/m²" in answer and "toàn tuyến" in answer and "QĐ 1/2026" in answer


def test_comment_lines_and_empty_prices_are_tolerated():
    rows = parse_table("# mẫu\nduong,tu,den,phuong_xa,vt1,vt2,vt3,vt4\nA,,,,100,,,\n,,,,,,,\n")
    assert len(rows) == 1 and rows[0].prices == (100, None, None, None)
