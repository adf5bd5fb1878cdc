"""Return of the result by post (trả kết quả qua dịch vụ bưu chính công ích).

The address uses the two-level administrative units in force since 1 July 2025 (province,
then commune/ward/special zone), from the ``vietnam-provinces`` package: the communes offered
are those of the tenant's own province (its ``stat_code``), because the result is picked up at
the province's centre and posted inside it.

The fee is shown before the citizen confirms. The default is ``DEFAULT_FEE`` (VND) for any
commune of the province: the public postal tariff for returning a result inside a province is a
flat amount of that order; a province with its own table sets it in the tenant file once the
schema has a ``[postal]`` section (``fee_for`` already takes a table: ``{"default": n,
"<ward code>": n}``).

A request goes to the one-stop system through the adapter when the family declares ``postal``
(job ``postal.send``, retried while the system is down); otherwise it is recorded for the
officers who hand results to the post office (status ``recorded``). Either way the citizen sees
its status on the request page and is told by chat when it is registered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from motcua.jobs import Retry, enqueue
from motcua.onestop.contract import AdapterError, Capability, Rejected
from motcua.onestop.records import PostalAddress, PostalRequest

DEFAULT_FEE = 25_000
RECEIVER_PURPOSE = "postal.receiver"

STATUS_LABELS = {
    "requested": "Đã ghi nhận yêu cầu, đang chuyển cho bộ phận một cửa",
    "registered": "Bộ phận một cửa đã nhận yêu cầu gửi kết quả qua bưu điện",
    "recorded": "Đã ghi nhận; cán bộ sẽ gửi kết quả qua bưu điện khi có kết quả",
}


@dataclass(frozen=True)
class Ward:
    code: str
    name: str


@lru_cache(maxsize=64)
def wards_of(stat_code: str) -> tuple[Ward, ...]:
    """Communes of a province (2025 NSO codes), sorted by name for a select list."""
    import vietnam_provinces as vp

    try:
        items = vp.Ward.iter_by_province(int(stat_code))
    except (ValueError, KeyError):
        return ()
    wards = [Ward(code=f"{int(w.code):05d}", name=w.name) for w in items]
    return tuple(sorted(wards, key=lambda w: _sort_key(w.name)))


def province_name(stat_code: str) -> str:
    import vietnam_provinces as vp

    try:
        return vp.Province.from_code(int(stat_code)).name
    except (ValueError, KeyError):
        return ""


def _sort_key(name: str) -> str:
    import unicodedata

    return "".join(ch for ch in unicodedata.normalize("NFD", name.lower()) if unicodedata.category(ch) != "Mn")


def fee_for(ward_code: str, table: dict[str, int] | None = None) -> int:
    table = table or {}
    return int(table.get(ward_code, table.get("default", DEFAULT_FEE)))


def format_vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đồng"


@dataclass
class PostalView:
    id: int
    status: str
    status_label: str
    ward_name: str
    fee: int
    reference: str | None
    receiver_name: str
    phone: str
    street: str


async def get_request(conn, crypto, tenant_id: str, dossier_id: int) -> PostalView | None:
    row = await conn.fetchrow("SELECT id, status, ward_name, fee, reference, receiver_enc FROM postal_request "
                              "WHERE tenant_id = motcua_tenant() AND dossier_id = $1", dossier_id)
    if row is None:
        return None
    receiver = json.loads(crypto.open(tenant_id, RECEIVER_PURPOSE, bytes(row["receiver_enc"])))
    return PostalView(id=row["id"], status=row["status"], status_label=STATUS_LABELS.get(row["status"], row["status"]),
                      ward_name=row["ward_name"], fee=row["fee"], reference=row["reference"],
                      receiver_name=receiver["name"], phone=receiver["phone"], street=receiver["street"])


async def create_request(conn, runtime, tenant_id: str, *, dossier_id: int, citizen_id: int | None, stat_code: str,
                         ward: Ward, receiver_name: str, phone: str, street: str, fee: int) -> tuple[int, bool]:
    """Record the request and enqueue its sending; (id, created). One request per dossier: a
    second confirmation (double tap, retried POST) returns the first."""
    sealed = runtime.crypto.seal(tenant_id, RECEIVER_PURPOSE,
                                 json.dumps({"name": receiver_name, "phone": phone, "street": street},
                                            ensure_ascii=False))
    new_id = await conn.fetchval(
        """INSERT INTO postal_request (tenant_id, dossier_id, citizen_id, receiver_enc, province_code, ward_code,
                                       ward_name, fee)
           VALUES (motcua_tenant(), $1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (tenant_id, dossier_id) DO NOTHING RETURNING id""",
        dossier_id, citizen_id, sealed, stat_code, ward.code, ward.name, fee)
    if new_id is None:
        return await conn.fetchval("SELECT id FROM postal_request WHERE tenant_id = motcua_tenant() AND dossier_id = $1",
                                   dossier_id), False
    await enqueue(conn, tenant_id, "postal.send", {"postal_request_id": new_id}, dedupe_key=f"postal:{new_id}",
                  max_attempts=20)
    return new_id, True


async def send_request(conn, runtime, tenant_id: str, request_id: int) -> str:
    """Hand the request to the one-stop system (or record it for officers). Raises ``Retry``
    while the system is down; returns the new status."""
    row = await conn.fetchrow(
        """SELECT p.id, p.status, p.citizen_id, p.receiver_enc, p.province_code, p.ward_code, p.fee, d.code, d.id AS dossier_id
           FROM postal_request p JOIN dossier d ON d.tenant_id = p.tenant_id AND d.id = p.dossier_id
           WHERE p.tenant_id = motcua_tenant() AND p.id = $1 FOR UPDATE OF p""", request_id)
    if row is None or row["status"] != "requested":
        return row["status"] if row else "missing"
    adapter = await runtime.adapter(tenant_id)
    receiver = json.loads(runtime.crypto.open(tenant_id, RECEIVER_PURPOSE, bytes(row["receiver_enc"])))
    if Capability.postal in adapter.capabilities:
        request = PostalRequest(dossier_code=row["code"], fee=row["fee"], address=PostalAddress(
            receiver_name=receiver["name"], phone=receiver["phone"], province_code=row["province_code"],
            ward_code=row["ward_code"], street=receiver["street"]))
        try:
            result = await adapter.request_postal(request)
        except Rejected as exc:
            # The system will not take it (e.g. the dossier is not postal-eligible there): officers handle it.
            status, reference, error = "recorded", None, str(exc)[:500]
        except AdapterError as exc:
            raise Retry(f"one-stop system unavailable: {exc}", delay=60) from exc
        else:
            status, reference, error = "registered", result.reference, None
    else:
        status, reference, error = "recorded", None, None
    await conn.execute("UPDATE postal_request SET status = $2, reference = $3, last_error = $4, updated_at = now() "
                       "WHERE tenant_id = motcua_tenant() AND id = $1", request_id, status, reference, error)
    if row["citizen_id"] is not None:
        from motcua.domain.submissions.service import notify

        text = (f"Yêu cầu nhận kết quả hồ sơ {row['code']} qua bưu điện: {STATUS_LABELS[status].lower()}."
                + (f" Mã yêu cầu: {reference}." if reference else "")
                + f" Phí dự kiến {format_vnd(row['fee'])}, thanh toán khi nhận.")
        await notify(conn, runtime, tenant_id, row["citizen_id"], text=text, kind="postal_status",
                     dossier_id=row["dossier_id"], dedupe_key=f"postal:{request_id}:{status}")
    return status
