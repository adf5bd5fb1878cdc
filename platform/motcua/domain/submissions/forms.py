"""The form of a procedure that can be submitted online, and its validation.

Where a form comes from, first found wins:
1. the procedure catalogue the sync engine keeps in the ``procedure`` table (``data.form`` and
   ``data.papers``, canonical ``FormField``/``Paper`` records as the adapter returned them);
2. the adapter's live catalogue (``procedures()``), when the family declares ``procedures``,
   cached per tenant for ``CATALOGUE_SECONDS``;
3. for a family without a catalogue (``push`` systems only push and look up), a generic form —
   the applicant's details, a free-text request and one "papers" slot — because the one-stop
   system itself checks the procedure code when the dossier is submitted.

Every form starts with the applicant's name, phone and ID number (they fill ``Submission``'s own
fields); the procedure's fields follow. Validation messages are Vietnamese, one per field.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from typing import Any

import msgspec

from motcua.onestop.contract import AdapterError, Capability
from motcua.onestop.records import FormField, Paper, Procedure

CATALOGUE_SECONDS = 600.0
MAX_TEXT = 500
MAX_TEXTAREA = 4000

APPLICANT_FIELDS = [
    FormField(name="applicant_name", label="Họ và tên người nộp", type="text"),
    FormField(name="applicant_phone", label="Số điện thoại", type="phone"),
    FormField(name="applicant_id_number", label="Số định danh cá nhân (CCCD)", type="id_number"),
]
GENERIC_FIELDS = [FormField(name="request", label="Nội dung đề nghị", type="textarea")]
GENERIC_PAPERS = [Paper(code="giay-to", name="Giấy tờ kèm theo (ảnh chụp)", required=True)]

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_]+")


class FormDefinition(msgspec.Struct, kw_only=True):
    procedure_code: str
    procedure_name: str
    agency_name: str | None = None
    fee: str | None = None
    processing_days: float | None = None
    fields: list[FormField]  # applicant fields first
    papers: list[Paper]
    generic: bool = False  # no catalogue entry: the generic form

    def field(self, name: str) -> FormField | None:
        return next((f for f in self.fields if f.name == name), None)

    def paper(self, code: str) -> Paper | None:
        return next((p for p in self.papers if p.code == code), None)


def _field_name(raw: str) -> str:
    return _SAFE_NAME.sub("_", raw).strip("_")[:64] or "field"


def definition_from_procedure(proc: Procedure) -> FormDefinition:
    applicant = {f.name for f in APPLICANT_FIELDS}
    fields = list(APPLICANT_FIELDS)
    for f in proc.form:
        name = _field_name(f.name)
        if name in applicant or any(x.name == name for x in fields):
            continue
        fields.append(msgspec.structs.replace(f, name=name))
    if len(fields) == len(APPLICANT_FIELDS):
        fields += GENERIC_FIELDS
    papers = list(proc.papers) or list(GENERIC_PAPERS)
    return FormDefinition(procedure_code=proc.code, procedure_name=proc.name,
                          agency_name=proc.agency.name if proc.agency else None, fee=proc.fee,
                          processing_days=proc.processing_days, fields=fields, papers=papers)


class NotOnline(Exception):
    """The procedure is in the catalogue but cannot be submitted online."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


async def _from_table(conn, code: str) -> Procedure | None:
    row = await conn.fetchrow(
        "SELECT code, name, sector, agency_code, online, processing_days, fee, data FROM procedure "
        "WHERE tenant_id = motcua_tenant() AND upper(code) = upper($1)", code)
    if row is None:
        return None
    data = row["data"] or {}
    try:
        return msgspec.convert({
            "code": row["code"], "name": row["name"], "sector": row["sector"], "online": row["online"],
            "processing_days": float(row["processing_days"]) if row["processing_days"] is not None else None,
            "fee": row["fee"], "papers": data.get("papers") or [], "form": data.get("form") or [],
            "agency": ({"code": row["agency_code"] or "", "name": data["agency_name"]}
                       if data.get("agency_name") else None),
        }, type=Procedure, strict=False)
    except msgspec.ValidationError:
        return None


async def adapter_catalogue(runtime, tenant_id: str) -> list[Procedure] | None:
    """The adapter's live catalogue (None when the family has none), cached per tenant: a form
    must open fast, and while the system is down the last catalogue beats no form."""
    adapter = await runtime.adapter(tenant_id)
    if Capability.procedures not in adapter.capabilities:
        return None
    cache = runtime.state.setdefault("submission.catalogue", {})
    hit = cache.get(tenant_id)
    if hit is None or time.monotonic() - hit[0] > CATALOGUE_SECONDS:
        try:
            procs = await adapter.procedures()
        except AdapterError:
            if hit is None:
                raise
            procs = hit[1]
        hit = (time.monotonic(), procs)
        cache[tenant_id] = hit
    return hit[1]


async def _from_adapter(runtime, tenant_id: str, code: str) -> tuple[bool, Procedure | None]:
    """(has a catalogue, the procedure)."""
    procs = await adapter_catalogue(runtime, tenant_id)
    if procs is None:
        return False, None
    key = code.strip().upper()
    return True, next((p for p in procs if p.code.strip().upper() == key), None)


async def load_form(conn, runtime, tenant_id: str, procedure_code: str) -> FormDefinition | None:
    """The form for ``procedure_code``, None when the province has no such procedure; raises
    ``NotOnline`` when it exists but is not offered online, and ``AdapterError`` when the
    catalogue is needed and the one-stop system cannot be reached."""
    proc = await _from_table(conn, procedure_code)
    if proc is None:
        has_catalogue, proc = await _from_adapter(runtime, tenant_id, procedure_code)
        if proc is None:
            if has_catalogue or not _plausible_code(procedure_code):
                return None
            return FormDefinition(procedure_code=procedure_code.strip(),
                                  procedure_name=f"Thủ tục {procedure_code.strip()}",
                                  fields=[*APPLICANT_FIELDS, *GENERIC_FIELDS], papers=list(GENERIC_PAPERS),
                                  generic=True)
    if not proc.online:
        raise NotOnline(proc.name)
    return definition_from_procedure(proc)


def _plausible_code(code: str) -> bool:
    return bool(re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z.\-_]{2,63}", code.strip()))


# --- validation ---------------------------------------------------------------------------

def _clean_text(value: Any) -> str:
    text = unicodedata.normalize("NFC", str(value or "")).replace("\r\n", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()


def normalize_vn_phone(value: str) -> str | None:
    """``0912 345 678`` / ``+84 912345678`` -> ``0912345678``; None when it is not a VN number."""
    digits = re.sub(r"[\s.\-()]", "", value)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if re.fullmatch(r"0[1-9][0-9]{8}", digits) else None


def parse_date(value: str) -> dt.date | None:
    value = value.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def validate_field(field: FormField, raw: Any) -> tuple[str, str | None]:
    """(the cleaned value, a Vietnamese error or None)."""
    value = _clean_text(raw)
    label = field.label
    if not value:
        return "", (f"Vui lòng nhập {label[0].lower() + label[1:]}." if field.required else None)
    kind = field.type
    if kind == "phone":
        phone = normalize_vn_phone(value)
        return (phone, None) if phone else (value, "Số điện thoại chưa đúng (10 chữ số, ví dụ 0912 345 678).")
    if kind == "id_number":
        digits = re.sub(r"\s", "", value)
        if re.fullmatch(r"[0-9]{12}", digits):
            return digits, None
        return value, "Số định danh cá nhân (CCCD) gồm đúng 12 chữ số."
    if kind == "date":
        day = parse_date(value)
        if day is None:
            return value, "Ngày chưa đúng. Vui lòng nhập theo dạng ngày/tháng/năm."
        if not (dt.date(1900, 1, 1) <= day <= dt.date.today() + dt.timedelta(days=3660)):
            return value, "Ngày này không hợp lệ. Vui lòng kiểm tra lại năm."
        return day.isoformat(), None
    if kind == "number":
        compact = value.replace(" ", "").replace(".", "").replace(",", "")
        return (compact, None) if compact.isdigit() else (value, "Vui lòng chỉ nhập chữ số.")
    if kind == "select":
        for option in field.options:
            if _clean_text(option).casefold() == value.casefold():
                return option, None
        return value, "Vui lòng chọn một mục trong danh sách."
    limit = MAX_TEXTAREA if kind == "textarea" else MAX_TEXT
    if len(value) > limit:
        return value[:limit], f"Nội dung quá dài (tối đa {limit} ký tự)."
    return value, None


def validate(defn: FormDefinition, values: dict[str, Any], *, partial: bool = False) -> tuple[dict[str, str], dict[str, str]]:
    """Clean every field; ``partial`` (saving a draft) reports only errors of filled-in fields."""
    clean: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field in defn.fields:
        value, error = validate_field(field, values.get(field.name))
        clean[field.name] = value
        if error and not (partial and not value):
            errors[field.name] = error
    return clean, errors


def paper_errors(defn: FormDefinition, counts: dict[str, int]) -> dict[str, str]:
    """Required papers without any photo."""
    return {p.code: f"Vui lòng đính kèm ảnh chụp: {p.name}." for p in defn.papers
            if p.required and counts.get(p.code, 0) == 0}
