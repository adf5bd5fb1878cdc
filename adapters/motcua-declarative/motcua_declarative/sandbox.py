"""A sandbox for the declarative family: a plain Vietnamese JSON API of the kind a province's
in-house system might have (snake_case Vietnamese keys, ``dd/MM/yyyy HH:mm:ss`` dates, status
words such as ``DANG_XU_LY``), over the shared ``World``. It serves the paths the tenant's
settings name; ``EXAMPLE_SETTINGS`` and ``EXAMPLE_STATUS_MAP`` are settings that read it."""

from __future__ import annotations

import secrets as pysecrets
from datetime import datetime, timedelta
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath

from motcua.onestop.records import Status
from motcua.onestop.sandbox_world import SAMPLE_PROCEDURES, SimDossier, World, sandbox_app

DATE_FORMAT = "%d/%m/%Y %H:%M:%S"
STATUS_WORDS = {
    Status.submitted: "MOI_NOP", Status.received: "DA_TIEP_NHAN", Status.not_accepted: "TU_CHOI",
    Status.processing: "DANG_XU_LY", Status.supplement_required: "CHO_BO_SUNG", Status.awaiting_payment: "CHO_NOP_PHI",
    Status.withdrawn: "DA_RUT", Status.stopped: "DUNG_XU_LY", Status.resolved: "DA_CO_KET_QUA",
    Status.returned: "DA_TRA_KET_QUA",
}
EXAMPLE_STATUS_MAP = {word: str(status) for status, word in STATUS_WORDS.items()}
EXAMPLE_SETTINGS: dict[str, Any] = {
    "lookup_path": "/api/ho-so/{code}", "lookup_record": "du_lieu",
    "changes_path": "/api/ho-so", "changes_from_param": "tu_luc", "changes_to_param": "den_luc",
    "changes_page_param": "trang", "changes_size_param": "so_dong", "first_page": 1,
    "changes_items": "du_lieu.danh_sach", "changes_has_more": "du_lieu.con_tiep", "changes_window_end": "du_lieu.den_luc",
    "procedures_path": "/api/thu-tuc", "procedures_items": "du_lieu", "date_format": DATE_FORMAT,
    "auth_header": "X-Api-Key",
    "fields": {"code": "ma_ho_so", "status": "trang_thai.ma", "status_label": "trang_thai.ten",
               "procedure_code": "thu_tuc.ma", "procedure_name": "thu_tuc.ten", "agency_code": "co_quan.ma",
               "agency_name": "co_quan.ten", "handler": "can_bo_xu_ly", "applicant_name": "nguoi_nop.ho_ten",
               "applicant_phone": "nguoi_nop.dien_thoai", "applicant_id_number": "nguoi_nop.so_dinh_danh",
               "submitted_at": "ngay.nop", "received_at": "ngay.tiep_nhan", "due_at": "ngay.hen_tra",
               "finished_at": "ngay.xong", "returned_at": "ngay.tra", "updated_at": "ngay.cap_nhat",
               "online": "truc_tuyen", "missing_papers": "giay_to_bo_sung", "note": "ghi_chu"},
    "procedure_fields": {"code": "ma", "name": "ten", "sector": "linh_vuc", "agency_code": "co_quan.ma",
                         "agency_name": "co_quan.ten", "processing_days": "so_ngay", "fee": "le_phi",
                         "online": "truc_tuyen", "papers": "thanh_phan", "paper_code": "ma", "paper_name": "ten",
                         "form": "bieu_mau", "form_name": "truong", "form_label": "nhan", "form_type": "kieu"},
}


def build(settings: Any, tenant: Any, world: World | None = None):
    world = world or World(tenant)

    def t(d):
        return d.strftime(DATE_FORMAT) if d else None

    def render(d: SimDossier) -> dict[str, Any]:
        word = d.raw_override if d.raw_override is not None else STATUS_WORDS[d.status]
        return {"ma_ho_so": d.code, "trang_thai": {"ma": word, "ten": d.status.label_vi},
                "thu_tuc": {"ma": d.procedure.code, "ten": d.procedure.name},
                "co_quan": {"ma": d.agency[0], "ten": d.agency[1]}, "can_bo_xu_ly": d.handler,
                "nguoi_nop": {"ho_ten": d.applicant_name, "dien_thoai": d.applicant_phone,
                              "so_dinh_danh": d.applicant_id_number},
                "ngay": {"nop": "2025-13-45" if d.corrupt else t(d.submitted_at), "tiep_nhan": t(d.received_at),
                         "hen_tra": t(d.due_at), "xong": t(d.finished_at), "tra": t(d.returned_at),
                         "cap_nhat": t(d.updated_at)},
                "truc_tuyen": d.online, "giay_to_bo_sung": d.missing_papers, "ghi_chu": d.note}

    def authorized(request: Request) -> bool:
        if not settings.auth_header:
            return True
        return pysecrets.compare_digest(request.headers.get(settings.auth_header, "").encode(),
                                        world.secret("api_key").encode())

    def denied() -> Response:
        return Response({"loi": "Không có quyền truy cập"}, status_code=401)

    def parse(value: str | None):
        return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=world.now().tzinfo) if value else None

    @get(settings.lookup_path.replace("{code}", "{code:str}"))
    async def lookup(request: Request, code: FromPath[str]) -> Response:
        if not authorized(request):
            return denied()
        d = world.find(code)
        if d is None:
            return Response({"loi": "Không tìm thấy hồ sơ"}, status_code=404)
        return Response({"du_lieu": render(d)})

    handlers = [lookup]
    if settings.changes_path:
        @get(settings.changes_path)
        async def changes(request: Request) -> Response:
            if not authorized(request):
                return denied()
            q = request.query_params
            try:
                page, size = int(q.get("trang", 1)), max(1, min(int(q.get("so_dong", 50)), 500))
                start, end = parse(q.get("tu_luc")), parse(q.get("den_luc")) or world.window_end(timedelta(seconds=1))
            except ValueError as exc:
                return Response({"loi": f"Tham số không hợp lệ: {exc}"}, status_code=400)
            items = world.changed_between(start, end)
            chunk = items[(page - 1) * size:page * size]
            return Response({"du_lieu": {"danh_sach": [render(d) for d in chunk], "con_tiep": page * size < len(items),
                                         "den_luc": t(end)}})

        handlers.append(changes)
    if settings.procedures_path:
        @get(settings.procedures_path)
        async def procedures(request: Request) -> Response:
            if not authorized(request):
                return denied()
            return Response({"du_lieu": [{
                "ma": p.code, "ten": p.name, "linh_vuc": p.sector,
                "co_quan": {"ma": world.agency_of(p)[0], "ten": world.agency_of(p)[1]}, "so_ngay": p.days,
                "le_phi": p.fee, "truc_tuyen": p.online, "thanh_phan": [{"ma": c, "ten": n} for c, n in p.papers],
                "bieu_mau": [{"truong": k, "nhan": lbl, "kieu": typ} for k, lbl, typ in p.form],
            } for p in SAMPLE_PROCEDURES]})

        handlers.append(procedures)
    return sandbox_app(world, handlers)
