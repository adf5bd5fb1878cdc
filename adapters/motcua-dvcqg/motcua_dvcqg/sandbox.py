"""A sandbox national-portal adapter: ``auth`` sessions that expire on the world's clock, then
``TraCuuHoSo``, ``DongBoHoSoMC`` (by time window), ``LayDanhSachTTHC``/``LayThuTuc``,
``NopHoSoTrucTuyen``, ``DanhGiaHaiLong`` and ``DongBoHoiDap``, as JSON RPC or inside the LGSP's
SOAP/XML envelope, over the shared ``World`` (see ``motcua.onestop.sandbox_world``)."""

from __future__ import annotations

import secrets as pysecrets
import uuid
from datetime import timedelta
from typing import Any

from litestar import Request, Response, post

from motcua.onestop.sandbox_world import SAMPLE_PROCEDURES, SimDossier, World, sandbox_app
from motcua_dvcqg import wire
from motcua_dvcqg.mapping import format_time, parse_time

SESSION_MINUTES = 30
OK, AUTH_FAILED, SESSION_EXPIRED, BAD_REQUEST = "0", "1", "2", "3"


def build(settings: Any, tenant: Any, world: World | None = None):
    world = world or World(tenant)
    sessions: dict[str, tuple[int, Any]] = {}

    def t(d):
        return format_time(d) if d else None

    def render(d: SimDossier) -> dict[str, Any]:
        raw = d.raw_override if d.raw_override is not None else str(d.status.national_code)
        return {
            "MaHoSo": d.code, "TrangThaiHoSo": raw, "MaTTHC": d.procedure.code, "TenTTHC": d.procedure.name,
            "TenLinhVuc": d.procedure.sector, "KenhThucHien": "2" if d.online else "1", "ChuHoSo": d.applicant_name,
            "SoGiayToChuHoSo": d.applicant_id_number, "SoDienThoai": d.applicant_phone,
            "NgayNopHoSo": "31022025" if d.corrupt else t(d.submitted_at), "NgayTiepNhan": t(d.received_at),
            "NgayHenTra": t(d.due_at), "NgayKetThucXuLy": t(d.finished_at), "NgayTra": t(d.returned_at),
            "NgayCapNhat": t(d.updated_at), "MaDonViXuLy": d.agency[0], "DonViXuLy": d.agency[1],
            "NguoiXuLy": d.handler, "GhiChu": d.note, "LoaiDoiTuong": "1",
            "DanhSachHoSoBoSung": [{"NoiDungBoSung": p, "NgayBoSung": t(d.updated_at)} for p in d.missing_papers],
        }

    def procedure(p) -> dict[str, Any]:
        agency = world.agency_of(p)
        fee = {"MOTA": p.fee}
        return {
            "MATTHC": p.code, "TENTTHC": p.name, "CAPTHUCHIEN": "Cấp xã" if p.agency_part == "commune" else "Cấp tỉnh",
            "LINHVUCTHUCHIEN": [{"TENLINHVUC": p.sector}], "COQUANTHUCHIEN": [{"MADONVI": agency[0], "TENDONVI": agency[1]}],
            "CACHTHUCTHUCHIEN": [{"KENH": k, "THOIGIAN": [{"THOIGIANGIAIQUYET": str(p.days), "DONVITINH": "Ngày làm việc",
                                                            "PHILEPHI": [fee]}]}
                                 for k in (("1", "2") if p.online else ("1",))],
            "THANHPHANHOSO": [{"GIAYTO": [{"MAGIAYTO": c, "TENGIAYTO": n} for c, n in p.papers]}],
            "BIEUMAU": [{"MATRUONG": k, "TENTRUONG": lbl, "KIEU": typ, "BATBUOC": "1"} for k, lbl, typ in p.form],
            "TRANGTHAI": "1",
        }

    def handle(service: str, p: dict[str, Any], session: str | None) -> tuple[str, str, list[Any], dict[str, Any]]:
        if service == "auth":
            user, password = p.get("username") or p.get("USERNAME"), p.get("password") or p.get("PASSWORD") or ""
            if user != settings.username or not pysecrets.compare_digest(str(password), world.secret("password")):
                return AUTH_FAILED, "Sai tên đăng nhập hoặc mật khẩu", [], {}
            value = uuid.uuid4().hex
            sessions[value] = (world.token_epoch, world.now() + timedelta(minutes=SESSION_MINUTES))
            world.tokens_issued += 1
            return OK, "", [{"session": value}], {}
        entry = sessions.get(session or "")
        if not entry or entry[0] != world.token_epoch or entry[1] <= world.now():
            return SESSION_EXPIRED, "Phiên làm việc đã hết hạn", [], {}
        if service == "TraCuuHoSo":
            d = world.find(str(p.get("mahoso", "")))
            return OK, "", [render(d)] if d else [], {}
        if service == "DongBoHoSoMC":
            try:
                start = parse_time(p.get("TuNgay")) if p.get("TuNgay") else None
                end = parse_time(p["DenNgay"]) if p.get("DenNgay") else world.window_end(timedelta(seconds=1))
                page, size = max(1, int(p.get("TrangSo", 1))), max(1, min(int(p.get("SoLuong", 50)), 500))
            except ValueError as exc:
                return BAD_REQUEST, f"Tham số không hợp lệ: {exc}", [], {}
            items = world.changed_between(start, end)
            chunk = items[(page - 1) * size:page * size]
            return OK, "", [render(d) for d in chunk], {"DenNgay": format_time(end),
                                                        "ConTiep": "1" if page * size < len(items) else "0"}
        if service == "LayDanhSachTTHC":
            return OK, "", [{"MATTHC": p.code, "TENTTHC": p.name} for p in SAMPLE_PROCEDURES], {}
        if service == "LayThuTuc":
            found = world.procedure(str(p.get("maTTHC", "")))
            return OK, "", [procedure(found)] if found else [], {}
        if service == "NopHoSoTrucTuyen":
            if not p.get("ChuHoSo") or not p.get("MaGiaoDich"):
                return BAD_REQUEST, "Thiếu ChuHoSo hoặc MaGiaoDich", [], {}
            try:
                d = world.submit(idempotency_key=str(p["MaGiaoDich"]), procedure_code=str(p.get("MaTTHC", "")),
                                 applicant_name=p["ChuHoSo"], applicant_phone=p.get("SoDienThoai"),
                                 applicant_id_number=p.get("SoGiayToChuHoSo"),
                                 fields=p.get("ThongTinKhac") if isinstance(p.get("ThongTinKhac"), dict) else {},
                                 attachments=len(p.get("TaiLieuNop") or []), raw=p)
            except KeyError:
                return BAD_REQUEST, "Thủ tục không tồn tại hoặc không nộp trực tuyến", [], {}
            return OK, "", [{"MaHoSo": d.code, "TrangThaiHoSo": "1", "NgayTiepNhan": t(d.submitted_at),
                             "NgayHenTra": t(d.due_at)}], {}
        if service == "DanhGiaHaiLong":
            d = world.find(str(p.get("MaHoSo", "")))
            if d is None:
                return BAD_REQUEST, "Không tìm thấy hồ sơ", [], {}
            world.record("evaluations", {"dossier_code": d.code, "overall": p.get("DanhGia"), "raw": p})
            return OK, "", [], {}
        if service == "DongBoHoiDap":
            if not p.get("TIEUDE") or not p.get("NOIDUNG"):
                return BAD_REQUEST, "Thiếu tiêu đề hoặc nội dung", [], {}
            code = f"PAKN-{world.now():%y%m%d}-{len(world.received['feedback']) + 1:04d}"
            world.record("feedback", {"reference": p.get("HOIDAPID"), "title": p["TIEUDE"], "code": code, "raw": p})
            return OK, "", [{"MAPHANANH": code}], {}
        return BAD_REQUEST, f"Dịch vụ {service} không được hỗ trợ", [], {}

    @post("/api/auth", status_code=200)
    async def rpc_auth(request: Request) -> Response:
        code, message, rows, _ = handle("auth", await request.json(), None)
        return Response({"error_code": int(code), "message": message, "session": rows[0]["session"] if rows else None})

    @post("/api/service", status_code=200)
    async def rpc_service(request: Request) -> Response:
        body = await request.json()
        code, message, rows, extras = handle(str(body.get("service", "")), body, body.get("session"))
        return Response({"error_code": int(code), "message": message, "result": rows,
                         **{k: v for k, v in extras.items() if v is not None}})

    @post("/lgsp/dvcqg", status_code=200)
    async def soap(request: Request) -> Response:
        try:
            header, rows, _ = wire.parse_envelope(await request.body())
        except ValueError as exc:
            return Response(f"<error>{exc}</error>", status_code=400, media_type="text/xml")
        service = header.get("TRAN_CODE", "")
        params = rows[0] if rows and isinstance(rows[0], dict) else {}
        code, message, out, extras = handle(service, params, header.get("SESSION"))
        if service == "auth":
            out = [{"SESSION": out[0]["session"]}] if out else []
        reply = {"VERSION": "1.0", "SENDER_CODE": header.get("RECEIVER_CODE"), "RECEIVER_CODE": header.get("SENDER_CODE"),
                 "TRAN_CODE": service, "MSG_ID": uuid.uuid4().hex, "MSG_REFID": header.get("MSG_ID"),
                 "SEND_DATE": format_time(world.now()), "ERROR_CODE": code, "ERROR_DESC": message or None}
        extras_xml = {"DENNGAY": extras.get("DenNgay"), "CONTIEP": extras.get("ConTiep")}
        return Response(wire.envelope(reply, out, extras_xml), media_type="text/xml; charset=utf-8")

    return sandbox_app(world, [rpc_auth, rpc_service, soap])
