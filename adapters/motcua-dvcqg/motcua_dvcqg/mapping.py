"""National-portal wire -> canonical records. ``TrangThaiHoSo`` is the national code 1-10, which
the canonical set follows one to one; anything else is ``unknown`` with the raw value kept.
Dates are ``yyyyMMddHHmmss`` in Vietnam time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec

from motcua.onestop.records import (
    Agency, Dossier, FormField, Paper, Procedure, Quarantined, RawStatus, Status, STATUS_LABELS_VI,
)
from motcua_dvcqg.wire import DvcqgHoSo, DvcqgThuTuc

VN = timezone(timedelta(hours=7))
DATE_FORMAT = "%Y%m%d%H%M%S"
STATUS_TABLE: dict[str, Status] = {str(s.national_code): s for s in Status if s.national_code}
ONLINE_CHANNEL = "2"
_KIEU = {"text": "text", "date": "date", "number": "number", "phone": "phone", "textarea": "textarea"}


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    if len(value) != 14 or not value.isdigit():
        raise ValueError(f"'{value}' is not a yyyyMMddHHmmss date")
    return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=VN)


def format_time(value: datetime) -> str:
    return value.astimezone(VN).strftime(DATE_FORMAT)


def to_dossier(w: DvcqgHoSo, map_status: Callable[[str], Status]) -> Dossier:
    raw = w.TrangThaiHoSo.strip()
    if not raw:
        raise ValueError("TrangThaiHoSo is empty")
    status = map_status(raw)
    supplements = [b.NoiDungBoSung for b in w.DanhSachHoSoBoSung if b.NoiDungBoSung]
    return Dossier(
        code=w.MaHoSo.strip(), status=status,
        raw_status=RawStatus(code=raw, label=STATUS_LABELS_VI[status] if status is not Status.unknown else None),
        procedure_code=w.MaTTHC, procedure_name=w.TenTTHC,
        agency=Agency(code=w.MaDonViXuLy, name=w.DonViXuLy or "") if w.MaDonViXuLy else None,
        handler=w.NguoiXuLy, applicant_name=w.ChuHoSo, applicant_phone=w.SoDienThoai,
        applicant_id_number=w.SoGiayToChuHoSo, submitted_at=parse_time(w.NgayNopHoSo),
        received_at=parse_time(w.NgayTiepNhan), due_at=parse_time(w.NgayHenTra),
        finished_at=parse_time(w.NgayKetThucXuLy), returned_at=parse_time(w.NgayTra),
        online=w.KenhThucHien == ONLINE_CHANNEL,
        missing_papers=supplements[-1:] if status is Status.supplement_required else [],
        note=w.GhiChu, alt_codes=[w.MaHoSoKhac] if w.MaHoSoKhac else [], updated_at=parse_time(w.NgayCapNhat))


def map_records(records: list[Any], map_status) -> tuple[list[Dossier], list[Quarantined]]:
    """Map each record alone: a bad one is quarantined with its reason, the rest still flow."""
    dossiers, quarantined = [], []
    for record in records:
        try:
            dossiers.append(to_dossier(msgspec.convert(record, type=DvcqgHoSo, strict=False), map_status))
        except (msgspec.ValidationError, ValueError, TypeError) as exc:
            code = record.get("MaHoSo") if isinstance(record, dict) else None
            quarantined.append(Quarantined(reason=str(exc), raw=msgspec.json.encode(record).decode(), code=code))
    return dossiers, quarantined


def to_procedure(w: DvcqgThuTuc) -> Procedure:
    channels = {c.KENH: c for c in w.CACHTHUCTHUCHIEN}
    chosen = channels.get("2") or channels.get("1") or (w.CACHTHUCTHUCHIEN[0] if w.CACHTHUCTHUCHIEN else None)
    days = fee = None
    if chosen and chosen.THOIGIAN:
        t = chosen.THOIGIAN[0]
        days = float(t.THOIGIANGIAIQUYET) if t.THOIGIANGIAIQUYET else None
        fee = "; ".join(p.MOTA or f"{p.SOTIEN} {p.DONVI or 'đồng'}" for p in t.PHILEPHI) or None
    agency = w.COQUANTHUCHIEN[0] if w.COQUANTHUCHIEN else None
    papers = [g for tp in w.THANHPHANHOSO for g in tp.GIAYTO]
    return Procedure(
        code=w.MATTHC, name=w.TENTTHC, sector=w.LINHVUCTHUCHIEN[0].TENLINHVUC if w.LINHVUCTHUCHIEN else None,
        agency=Agency(code=agency.MADONVI, name=agency.TENDONVI or "") if agency and agency.MADONVI else None,
        level=w.CAPTHUCHIEN, processing_days=days, fee=fee, online="2" in channels,
        papers=[Paper(code=g.MAGIAYTO or str(i + 1), name=g.TENGIAYTO) for i, g in enumerate(papers)],
        form=[FormField(name=f.MATRUONG, label=f.TENTRUONG, type=_KIEU.get(f.KIEU, "text"), required=f.BATBUOC == "1")
              for f in w.BIEUMAU])
