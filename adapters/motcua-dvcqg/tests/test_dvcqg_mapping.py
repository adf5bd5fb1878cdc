"""The national-portal codec and mapping on their own: XML envelopes, dates, statuses."""

from datetime import datetime, timedelta, timezone

import pytest

from motcua.onestop.records import Status
from motcua_dvcqg import mapping, wire

VN = timezone(timedelta(hours=7))


def test_an_envelope_round_trips_header_rows_nested_lists_and_extras():
    header = {"VERSION": "1.0", "SENDER_CODE": "MOTCUA", "RECEIVER_CODE": "000.00.00.H01", "TRAN_CODE": "DongBoHoSoMC",
              "MSG_ID": "m1", "SEND_DATE": "20251119090000", "ERROR_CODE": "0"}
    row = {"MaHoSo": "000.00.07.H01-251119-0001", "TrangThaiHoSo": "5", "ChuHoSo": "Trần Thị Thảo",
           "DanhSachHoSoBoSung": [{"NoiDungBoSung": "Tờ khai có chữ ký"}], "ThongTinKhac": {"ho_ten_tre": "Bé Na"}}
    body = wire.envelope(header, [row], {"DENNGAY": "20251119090000", "CONTIEP": "0"})
    assert b"<soap:Envelope" in body and b"<DATA><HEADER>" in body
    head, rows, extras = wire.parse_envelope(body)
    assert head["TRAN_CODE"] == "DongBoHoSoMC" and head["ERROR_CODE"] == "0"
    assert rows == [row]
    assert extras == {"DENNGAY": "20251119090000", "CONTIEP": "0"}


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><DATA><HEADER/></DATA>',
    b"<DATA><HEADER><ERROR_CODE>0</ERROR_CODE></HEADER><BODY><ROW>",
    b"<html><body>502 Bad Gateway</body></html>",
])
def test_hostile_or_broken_xml_is_refused(body):
    with pytest.raises(ValueError):
        wire.parse_envelope(body)


def test_national_status_codes_map_one_to_one_and_others_stay_unknown():
    assert {mapping.STATUS_TABLE[str(i)] for i in range(1, 11)} == {s for s in Status if s is not Status.unknown}
    record = {"MaHoSo": "000.00.07.H01-251119-0001", "TrangThaiHoSo": "0", "NgayHenTra": "20251126170000"}
    [d], [] = mapping.map_records([record], lambda raw: mapping.STATUS_TABLE.get(raw, Status.unknown))
    assert d.status is Status.unknown and d.raw_status.code == "0"
    assert d.due_at == datetime(2025, 11, 26, 17, 0, tzinfo=VN)


def test_a_bad_date_quarantines_only_its_record():
    good = {"MaHoSo": "000.00.07.H01-251119-0001", "TrangThaiHoSo": "4", "NgayNopHoSo": "20251119080000"}
    bad = {"MaHoSo": "000.00.07.H01-251119-0002", "TrangThaiHoSo": "4", "NgayNopHoSo": "19/11/2025"}
    dossiers, quarantined = mapping.map_records([good, bad], lambda raw: mapping.STATUS_TABLE[raw])
    assert [d.code for d in dossiers] == [good["MaHoSo"]]
    assert quarantined[0].code == bad["MaHoSo"] and "19/11/2025" in quarantined[0].raw
