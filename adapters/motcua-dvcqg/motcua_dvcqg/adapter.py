"""The ``dvcqg`` family: the national public-service portal's session-token RPC (onestop.md
§1.2-1.6, §7.3 B), as JSON (``variant = "rpc"``) or in the LGSP's SOAP/XML envelope
(``variant = "lgsp-xml"``) for a province whose only bus is the LGSP.

Sign in with ``auth`` (username, password) for a session; every service call carries it, and a
call answered "session expired" signs in once more and retries. ``error_code`` 0 is success,
1 a refused sign-in, 2 an expired session, 3 a refused request, anything else a fault of theirs.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

import msgspec

from motcua.onestop.codes import format_code, normalize_code
from motcua.onestop.contract import Capability, Malformed, Rejected, Unavailable
from motcua.onestop.http import HttpAdapter, decode_json
from motcua.onestop.records import (
    ChangePage, Dossier, Evaluation, Feedback, Procedure, Receipt, Status, Submission,
)
from motcua_dvcqg import mapping, wire

OK, AUTH_FAILED, SESSION_EXPIRED, BAD_REQUEST = "0", "1", "2", "3"


class DvcqgSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    base_url: str
    variant: Literal["rpc", "lgsp-xml"] = "rpc"
    username: str
    unit_code: str  # madonvi: the province's unit on the portal, also sent as the dstcode header
    sender_code: str = "MOTCUA"
    receiver_code: str = ""
    auth_path: str = "/api/auth"
    service_path: str = "/api/service"
    soap_path: str = "/lgsp/dvcqg"
    timeout_seconds: float = 10.0
    page_size: int = 50


class DvcqgAdapter(HttpAdapter):
    family: ClassVar[str] = "dvcqg"
    Settings: ClassVar[type[msgspec.Struct]] = DvcqgSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.lookup_by_code, Capability.change_feed, Capability.procedures, Capability.evaluation,
        Capability.feedback, Capability.submission,
    })
    default_status_map: ClassVar[Mapping[str, Status]] = mapping.STATUS_TABLE
    settings: DvcqgSettings
    _session: str | None = None

    # transport: one call, either variant -> (error code, message, rows, extras)
    async def _exchange(self, service: str, params: dict[str, Any]) -> tuple[str, str, list[Any], dict[str, Any]]:
        s = self.settings
        headers = {"dstcode": s.unit_code}
        if s.variant == "rpc":
            path = s.auth_path if service == "auth" else s.service_path
            body = params if service == "auth" else {"session": self._session, "madonvi": s.unit_code,
                                                     "service": service, **params}
            response = await self.send("POST", path, json=body, headers=headers)
            reply = decode_json(response.content, wire.DvcqgReply)
            rows = reply.result if service != "auth" else [{"session": reply.session}]
            return str(reply.error_code), reply.message or "", rows, {"DenNgay": reply.DenNgay, "ConTiep": reply.ConTiep}
        header = {"VERSION": "1.0", "SENDER_CODE": s.sender_code, "RECEIVER_CODE": s.receiver_code or s.unit_code,
                  "TRAN_CODE": service, "MSG_ID": uuid.uuid4().hex, "SEND_DATE": mapping.format_time(datetime.now()),
                  "SESSION": self._session if service != "auth" else None, "ERROR_CODE": "0"}
        response = await self.send("POST", s.soap_path, content=wire.envelope(header, [params]),
                                   headers={**headers, "Content-Type": "text/xml; charset=utf-8", "SOAPAction": service})
        try:
            head, rows, extras = wire.parse_envelope(response.content)
        except ValueError as exc:
            raise Malformed(f"phong bì XML không đọc được: {exc}") from exc
        if service == "auth":
            rows = [{"session": (rows[0] or {}).get("SESSION") if rows else None}]
        return head.get("ERROR_CODE", ""), head.get("ERROR_DESC", ""), rows, {
            "DenNgay": extras.get("DENNGAY"), "ConTiep": extras.get("CONTIEP")}

    async def _sign_in(self) -> None:
        password = self.secret("password")
        params = ({"username": self.settings.username, "password": password} if self.settings.variant == "rpc"
                  else {"USERNAME": self.settings.username, "PASSWORD": password})
        code, message, rows, _ = await self._exchange("auth", params)
        if code == AUTH_FAILED:
            raise Rejected(f"đăng nhập cổng bị từ chối: {message}")
        if code != OK or not rows or not rows[0].get("session"):
            raise Unavailable(f"đăng nhập cổng không thành công ({code}): {message}")
        self._session = rows[0]["session"]

    async def call(self, service: str, **params: Any) -> tuple[list[Any], dict[str, Any]]:
        if self._session is None:
            await self._sign_in()
        code, message, rows, extras = await self._exchange(service, params)
        if code == SESSION_EXPIRED:
            await self._sign_in()
            code, message, rows, extras = await self._exchange(service, params)
        if code == OK:
            return rows, extras
        if code in (AUTH_FAILED, SESSION_EXPIRED, BAD_REQUEST):
            raise Rejected(f"{service}: {message or 'bị từ chối'} ({code})")
        if code == "":
            raise Malformed(f"{service}: câu trả lời thiếu mã lỗi")
        raise Unavailable(f"{service}: lỗi hệ thống ({code}) {message}")

    async def lookup(self, code: str) -> Dossier | None:
        rows, _ = await self.call("TraCuuHoSo", mahoso=format_code(code))
        dossiers, quarantined = mapping.map_records(rows, self.map_status)
        wanted = normalize_code(code)
        found = next((d for d in dossiers if normalize_code(d.code) == wanted), None)
        if found is None and any(q.code and normalize_code(q.code) == wanted for q in quarantined):
            raise Malformed(f"hồ sơ {code} không đọc được: {quarantined[0].reason}")
        return found

    async def changes(self, cursor: str | None, *, since: datetime | None = None) -> ChangePage:
        """``DongBoHoSoMC`` by time window. Cursor: the window's end (``yyyyMMddHHmmss``), or
        ``from|to|page`` while the window has pages left."""
        start, end, page = "", "", 1
        if cursor and "|" in cursor:
            start, end, p = cursor.split("|")
            page = int(p)
        elif cursor:
            start = cursor
        elif since:
            start = mapping.format_time(since)
        params = {"TuNgay": start or None, "DenNgay": end or None, "TrangSo": str(page),
                  "SoLuong": str(self.settings.page_size)}
        rows, extras = await self.call("DongBoHoSoMC", **{k: v for k, v in params.items() if v})
        end = end or extras.get("DenNgay") or ""
        if not end:
            raise Malformed("DongBoHoSoMC không trả về DenNgay")
        more = str(extras.get("ConTiep") or "0") == "1"
        dossiers, quarantined = mapping.map_records(rows, self.map_status)
        return ChangePage(dossiers=dossiers, cursor=f"{start}|{end}|{page + 1}" if more else end, has_more=more,
                          quarantined=quarantined)

    async def procedures(self) -> list[Procedure]:
        refs, _ = await self.call("LayDanhSachTTHC")
        out = []
        for ref in refs:
            code = msgspec.convert(ref, type=wire.DvcqgTTHCRef, strict=False).MATTHC
            rows, _ = await self.call("LayThuTuc", maTTHC=code)
            if not rows:
                continue
            try:
                out.append(mapping.to_procedure(msgspec.convert(rows[0], type=wire.DvcqgThuTuc, strict=False)))
            except (msgspec.ValidationError, ValueError) as exc:
                raise Malformed(f"thủ tục {code} không đọc được: {exc}") from exc
        return out

    async def submit(self, submission: Submission) -> Receipt:
        rows, _ = await self.call(
            "NopHoSoTrucTuyen", MaGiaoDich=submission.idempotency_key, MaTTHC=submission.procedure_code,
            ChuHoSo=submission.applicant_name, SoDienThoai=submission.applicant_phone,
            SoGiayToChuHoSo=submission.applicant_id_number, KenhThucHien=mapping.ONLINE_CHANNEL,
            ThongTinKhac=dict(submission.fields),
            TaiLieuNop=[{"MaThanhPhanHoSo": a.paper_code, "TenTepDinhKem": a.filename} for a in submission.attachments])
        if not rows:
            raise Malformed("NopHoSoTrucTuyen không trả về mã hồ sơ")
        try:
            r = msgspec.convert(rows[0], type=wire.DvcqgNopHoSoKetQua, strict=False)
            return Receipt(code=r.MaHoSo, status=self.map_status(r.TrangThaiHoSo or "1"),
                           received_at=mapping.parse_time(r.NgayTiepNhan), due_at=mapping.parse_time(r.NgayHenTra))
        except (msgspec.ValidationError, ValueError) as exc:
            raise Malformed(f"biên nhận không đọc được: {exc}") from exc

    async def rate(self, evaluation: Evaluation) -> None:
        if evaluation.overall not in (1, 2, 3):
            raise Rejected("mức đánh giá phải là 1, 2 hoặc 3")
        await self.call("DanhGiaHaiLong", MaHoSo=format_code(evaluation.dossier_code), DanhGia=str(evaluation.overall),
                        NoiDungDanhGia=evaluation.comment,
                        ThoiGianDanhGia=mapping.format_time(evaluation.rated_at or datetime.now()),
                        ChiTiet=[{"MaTieuChi": k, "Diem": str(v)} for k, v in evaluation.criteria.items()])

    async def send_feedback(self, feedback: Feedback) -> str:
        rows, _ = await self.call("DongBoHoiDap", HOIDAPID=feedback.reference, TIEUDE=feedback.title,
                                  NOIDUNG=feedback.content, MALINHVUC=feedback.category, MADONVI=feedback.agency_code)
        try:
            return msgspec.convert(rows[0], type=wire.DvcqgMaPhanAnh, strict=False).MAPHANANH
        except (IndexError, msgspec.ValidationError) as exc:
            raise Malformed(f"DongBoHoiDap không trả về mã phản ánh: {exc}") from exc

    @classmethod
    def sandbox_app(cls, settings: DvcqgSettings, tenant: Any):
        from motcua_dvcqg.sandbox import build

        return build(settings, tenant)
