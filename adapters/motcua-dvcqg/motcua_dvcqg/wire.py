"""The national-portal style payloads (onestop.md §1.2-1.6): a JSON session RPC, or the same
services in the LGSP's XML envelope. Field names and casing are the portal's; numbers and dates
travel as strings (dates ``yyyyMMddHHmmss``, Vietnam time). Lenient: unknown fields are ignored.

``envelope()``/``parse_envelope()`` are the XML codec: ``<DATA><HEADER>…</HEADER><BODY><ROW>…</ROW>
</BODY></DATA>`` inside a SOAP Envelope. A nested list travels as an element holding ``ROW``
children (records) or ``ITEM`` children (plain values).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import msgspec

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
HEADER_FIELDS = ("VERSION", "SENDER_CODE", "RECEIVER_CODE", "TRAN_CODE", "MSG_ID", "MSG_REFID", "SEND_DATE",
                 "SESSION", "ERROR_CODE", "ERROR_DESC")


class DvcqgBoSung(msgspec.Struct, kw_only=True):
    NoiDungBoSung: str | None = None
    NgayBoSung: str | None = None
    NgayHenTraMoi: str | None = None


class DvcqgHoSo(msgspec.Struct, kw_only=True):
    """One dossier as ``DongBoHoSoMC`` carries it (§1.4)."""

    MaHoSo: str
    TrangThaiHoSo: str
    MaTTHC: str | None = None
    TenTTHC: str | None = None
    MaLinhVuc: str | None = None
    TenLinhVuc: str | None = None
    KenhThucHien: str | None = None  # 1 trực tiếp, 2 trực tuyến, 3 bưu chính công ích
    ChuHoSo: str | None = None
    SoGiayToChuHoSo: str | None = None
    SoDienThoai: str | None = None
    NgayNopHoSo: str | None = None
    NgayTiepNhan: str | None = None
    NgayHenTra: str | None = None
    NgayKetThucXuLy: str | None = None
    NgayTra: str | None = None
    NgayCapNhat: str | None = None
    MaDonViXuLy: str | None = None
    DonViXuLy: str | None = None
    NguoiXuLy: str | None = None
    GhiChu: str | None = None
    MaHoSoKhac: str | None = None
    DanhSachHoSoBoSung: list[DvcqgBoSung] = []


class DvcqgGiayTo(msgspec.Struct, kw_only=True):
    MAGIAYTO: str | None = None
    TENGIAYTO: str


class DvcqgThanhPhan(msgspec.Struct, kw_only=True):
    GIAYTO: list[DvcqgGiayTo] = []


class DvcqgPhiLePhi(msgspec.Struct, kw_only=True):
    MAPHILEPHI: str | None = None
    SOTIEN: str | None = None
    DONVI: str | None = None
    MOTA: str | None = None


class DvcqgThoiGian(msgspec.Struct, kw_only=True):
    THOIGIANGIAIQUYET: str | None = None
    DONVITINH: str | None = None
    PHILEPHI: list[DvcqgPhiLePhi] = []


class DvcqgCachThuc(msgspec.Struct, kw_only=True):
    KENH: str
    THOIGIAN: list[DvcqgThoiGian] = []


class DvcqgLinhVuc(msgspec.Struct, kw_only=True):
    MALINHVUC: str | None = None
    TENLINHVUC: str | None = None


class DvcqgCoQuan(msgspec.Struct, kw_only=True):
    MADONVI: str | None = None
    TENDONVI: str | None = None


class DvcqgTruongBieuMau(msgspec.Struct, kw_only=True):
    """A field of the online form (our sandbox's extension of LayThuTuc: the portal's e-form is
    not in the public guide)."""

    MATRUONG: str
    TENTRUONG: str
    KIEU: str = "text"
    BATBUOC: str = "1"


class DvcqgThuTuc(msgspec.Struct, kw_only=True):
    """``LayThuTuc``'s procedure (§1.6)."""

    MATTHC: str
    TENTTHC: str
    CAPTHUCHIEN: str | None = None
    LINHVUCTHUCHIEN: list[DvcqgLinhVuc] = []
    COQUANTHUCHIEN: list[DvcqgCoQuan] = []
    CACHTHUCTHUCHIEN: list[DvcqgCachThuc] = []
    THANHPHANHOSO: list[DvcqgThanhPhan] = []
    BIEUMAU: list[DvcqgTruongBieuMau] = []
    TRANGTHAI: str | None = None


class DvcqgTTHCRef(msgspec.Struct, kw_only=True):
    MATTHC: str
    TENTTHC: str | None = None


class DvcqgReply(msgspec.Struct, kw_only=True):
    """Any RPC answer: ``error_code`` 0 is success; extras (``DenNgay``, ``ConTiep``) ride beside
    ``result``. ``result`` stays untyped so one bad record is quarantined, not fatal."""

    error_code: str | int = 0
    message: str | None = None
    session: str | None = None
    result: list[Any] = []
    DenNgay: str | None = None
    ConTiep: str | None = None


class DvcqgNopHoSoKetQua(msgspec.Struct, kw_only=True):
    MaHoSo: str
    TrangThaiHoSo: str | None = None
    NgayTiepNhan: str | None = None
    NgayHenTra: str | None = None


class DvcqgMaPhanAnh(msgspec.Struct, kw_only=True):
    MAPHANANH: str


# -- the XML envelope --------------------------------------------------------------------------

def _to_xml(parent: ET.Element, name: str, value: Any) -> None:
    el = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for k, v in value.items():
            if v is not None and v != []:
                _to_xml(el, k, v)
    elif isinstance(value, list):
        for item in value:  # (empty lists are left out: an empty element reads back as text)
            _to_xml(el, "ROW" if isinstance(item, dict) else "ITEM", item)
    else:
        el.text = str(value)


def _from_xml(el: ET.Element) -> Any:
    children = list(el)
    if not children:
        return el.text or ""
    if all(c.tag in ("ROW", "ITEM") for c in children):
        return [_from_xml(c) for c in children]
    return {c.tag: _from_xml(c) for c in children}


def envelope(header: dict[str, Any], rows: list[dict[str, Any]], extras: dict[str, Any] | None = None) -> bytes:
    root = ET.Element(f"{{{SOAP_NS}}}Envelope")
    body = ET.SubElement(root, f"{{{SOAP_NS}}}Body")
    data = ET.SubElement(body, "DATA")
    h = ET.SubElement(data, "HEADER")
    for key in HEADER_FIELDS:
        if header.get(key) is not None:
            ET.SubElement(h, key).text = str(header[key])
    b = ET.SubElement(data, "BODY")
    for k, v in (extras or {}).items():
        if v is not None:
            _to_xml(b, k, v)
    for row in rows:
        _to_xml(b, "ROW", row)
    ET.register_namespace("soap", SOAP_NS)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def parse_envelope(content: bytes) -> tuple[dict[str, str], list[Any], dict[str, Any]]:
    """(HEADER fields, BODY rows, other BODY elements). Raises ValueError on anything else.

    No DTD is accepted: the standard library's parser does not fetch external entities, expat
    (>= 2.4) caps entity expansion, and refusing DOCTYPE outright closes the rest; so the
    standard library suffices here without defusedxml."""
    if b"<!DOCTYPE" in content.upper() or b"<!ENTITY" in content.upper():
        raise ValueError("XML with a DTD is refused")
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise ValueError(f"not well-formed XML: {exc}") from exc
    data = root.find(f"{{{SOAP_NS}}}Body/DATA") if root.tag == f"{{{SOAP_NS}}}Envelope" else root
    if data is None or data.tag != "DATA":
        raise ValueError("no DATA element in the envelope")
    header_el, body_el = data.find("HEADER"), data.find("BODY")
    if header_el is None:
        raise ValueError("no HEADER in the envelope")
    header = {c.tag: (c.text or "") for c in header_el}
    rows: list[Any] = []
    extras: dict[str, Any] = {}
    for child in list(body_el) if body_el is not None else []:
        if child.tag == "ROW":
            rows.append(_from_xml(child) if len(child) else {})
        else:
            extras[child.tag] = _from_xml(child)
    return header, rows, extras
