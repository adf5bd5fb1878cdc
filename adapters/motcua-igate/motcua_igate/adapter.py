"""The ``igate`` family: VNPT iGate behind a provincial gateway (onestop.md §1.7, §7.3 A).

OAuth2 client credentials against a Keycloak-style token endpoint (authlib keeps the token until
``expires_in`` - 60 s and fetches a new one then; a 401 means the server dropped it early, so we
fetch once more and retry), dossier search by code or owner, changes by polling time windows.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx
import msgspec

from motcua.onestop.codes import format_code, local_phone, normalize_code
from motcua.onestop.contract import Capability, Malformed, Rejected, Unavailable
from motcua.onestop.http import HttpAdapter, check_status, decode_json
from motcua.onestop.records import (
    ChangePage, Dossier, Evaluation, Feedback, PostalReceipt, PostalRequest, Procedure, Receipt, Status, Submission,
)
from motcua_igate import mapping, wire


class IGateSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    base_url: str
    token_url: str
    client_id: str
    agency_id: str  # the province's agency id in iGate (filters searches to this deployment)
    timeout_seconds: float = 10.0
    page_size: int = 50


# Ca Mau's deployment numbers its statuses like this; a tenant file may override any entry.
DEFAULT_STATUS_MAP: dict[str, Status] = {
    "0": Status.submitted, "1": Status.received, "2": Status.processing, "3": Status.supplement_required,
    "4": Status.awaiting_payment, "5": Status.resolved, "6": Status.returned, "7": Status.not_accepted,
    "8": Status.withdrawn, "9": Status.stopped,
}


class IGateAdapter(HttpAdapter):
    family: ClassVar[str] = "igate"
    Settings: ClassVar[type[msgspec.Struct]] = IGateSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.lookup_by_code, Capability.lookup_by_owner, Capability.change_feed, Capability.submission,
        Capability.evaluation, Capability.feedback, Capability.postal, Capability.procedures,
    })
    default_status_map: ClassVar[Mapping[str, Status]] = DEFAULT_STATUS_MAP
    settings: IGateSettings

    def make_client(self) -> httpx.AsyncClient:
        import authlib.deprecate  # noqa: F401 - installs authlib's own "always" filter first, so ours wins

        with warnings.catch_warnings():
            # authlib nudges towards httpx2; the httpx integration is the one our stack ships.
            warnings.simplefilter("ignore")
            from authlib.integrations.httpx_client import AsyncOAuth2Client
        client = AsyncOAuth2Client(
            client_id=self.settings.client_id, client_secret=self.secret("client_secret"),
            token_endpoint_auth_method="client_secret_basic", token_endpoint=self.settings.token_url,
            grant_type="client_credentials", leeway=60, base_url=self.settings.base_url.rstrip("/"),
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)))
        client.register_compliance_hook("access_token_response", _check_token_response)
        return client

    async def _fetch_token(self) -> None:
        try:
            await self.http.fetch_token(self.settings.token_url, grant_type="client_credentials")
        except httpx.TimeoutException as exc:
            raise Unavailable("máy chủ cấp mã truy cập không trả lời kịp") from exc
        except httpx.TransportError as exc:
            raise Unavailable("không kết nối được máy chủ cấp mã truy cập") from exc
        except (Unavailable, Rejected, Malformed):
            raise
        except Exception as exc:  # authlib's OAuthError and friends: the credentials were refused
            raise Rejected(f"máy chủ cấp mã truy cập từ chối: {exc}") from exc

    async def call(self, method: str, path: str, *, ok: tuple[int, ...] = (), **kwargs: Any) -> httpx.Response:
        if not self.http.token:
            await self._fetch_token()
        response = await self.send(method, path, ok=(*ok, 401), **kwargs)
        if response.status_code == 401:
            await self._fetch_token()  # revoked or expired early: one fresh token, one retry
            response = await self.send(method, path, ok=ok, **kwargs)
        return response

    async def _search(self, **params: Any) -> wire.IGateSlice:
        query = {"spec": "slice", "page": 0, "size": self.settings.page_size, "agency-id": self.settings.agency_id}
        query.update({k.replace("_", "-"): v for k, v in params.items() if v is not None})
        response = await self.call("GET", "/pa/dossier/search", params=query)
        return decode_json(response.content, wire.IGateSlice)

    async def lookup(self, code: str) -> Dossier | None:
        page = await self._search(code=format_code(code))
        dossiers, quarantined = mapping.map_records(page.content, self.map_status)
        wanted = normalize_code(code)
        for d in dossiers:
            if normalize_code(d.code) == wanted:
                return d
        for q in quarantined:
            if q.code and normalize_code(q.code) == wanted:
                raise Malformed(f"hồ sơ {code} không đọc được: {q.reason}")
        return None

    async def lookup_by_owner(self, *, phone: str | None = None, id_number: str | None = None) -> list[Dossier]:
        if not phone and not id_number:
            raise Rejected("cần số điện thoại hoặc số định danh")
        page = await self._search(phone_number=local_phone(phone) if phone else None, identity_number=id_number)
        return mapping.map_records(page.content, self.map_status)[0]

    async def changes(self, cursor: str | None, *, since: datetime | None = None) -> ChangePage:
        """Cursor: the ISO end of the last window, or ``from|to|page`` while a window has pages left."""
        start, end, page = _parse_cursor(cursor, since)
        sl = await self._search(updated_from=start or None, updated_to=end or None, page=page, sort="updatedDate,asc")
        end = end or sl.serverTime
        if not end:
            raise Malformed("iGate không trả về thời điểm kết thúc cửa sổ (serverTime)")
        if not sl.last:
            return mapping.to_page(sl.content, self.map_status, f"{start}|{end}|{page + 1}", True)
        return mapping.to_page(sl.content, self.map_status, end, False)

    async def submit(self, submission: Submission) -> Receipt:
        body = {
            "procedure": {"code": submission.procedure_code},
            "applicant": {"data": {"fullname": submission.applicant_name, "phoneNumber": submission.applicant_phone,
                                   "identityNumber": submission.applicant_id_number}},
            "eForm": {"data": submission.fields},
            "attachment": [{"componentCode": a.paper_code, "filename": a.filename, "mimetype": a.content_type,
                            "size": len(a.data)} for a in submission.attachments],
            "applyMethod": {"id": 1},
        }
        response = await self.call("POST", "/pa/dossier/--apply-online", json=body,
                                    headers={"Idempotency-Key": submission.idempotency_key})
        created = decode_json(response.content, wire.IGateCreated)
        return Receipt(code=created.code, status=Status.submitted, received_at=mapping.parse_time(created.appliedDate),
                       due_at=mapping.parse_time(created.appointmentDate))

    async def rate(self, evaluation: Evaluation) -> None:
        if evaluation.overall not in (1, 2, 3):
            raise Rejected("mức đánh giá phải là 1, 2 hoặc 3")
        await self.call("POST", "/ra/dossier-rating", json={
            "dossierCode": evaluation.dossier_code, "rating": {"id": evaluation.overall},
            "criteria": [{"id": k, "point": v} for k, v in evaluation.criteria.items()],
            "comment": evaluation.comment,
            "ratedDate": mapping.format_time(evaluation.rated_at) if evaluation.rated_at else None})

    async def send_feedback(self, feedback: Feedback) -> str:
        response = await self.call("POST", "/pe/petition", json={
            "title": feedback.title, "description": feedback.content, "tag": {"code": feedback.category},
            "agency": {"code": feedback.agency_code} if feedback.agency_code else None,
            "referenceCode": feedback.reference})
        ref = decode_json(response.content, wire.IGateReference)
        return ref.code or ref.id

    async def request_postal(self, request: PostalRequest) -> PostalReceipt:
        page = await self._search(code=request.dossier_code)
        match = next((d for d in mapping.map_records(page.content, self.map_status)[0]
                      if normalize_code(d.code) == normalize_code(request.dossier_code)), None)
        if match is None or not match.alt_codes:
            raise Rejected(f"không tìm thấy hồ sơ {request.dossier_code}")
        a = request.address
        response = await self.call("POST", f"/pa/dossier/{match.alt_codes[0]}/--vnpost", json={
            "receiver": {"fullname": a.receiver_name, "phoneNumber": a.phone},
            "address": {"province": {"code": a.province_code}, "village": {"code": a.ward_code}, "detail": a.street},
            "fee": request.fee})
        ref = decode_json(response.content, wire.IGateReference)
        return PostalReceipt(reference=ref.code or ref.id, status=ref.status or "registered")

    async def procedures(self) -> list[Procedure]:
        out: list[Procedure] = []
        page = 0
        while True:
            response = await self.call("GET", "/ba/procedure/--search", params={
                "agency-id": self.settings.agency_id, "page": page, "size": self.settings.page_size, "spec": "slice"})
            sl = decode_json(response.content, wire.IGateProcedureSlice)
            out += [mapping.to_procedure(p) for p in sl.content]
            if sl.last:
                return out
            page += 1

    @classmethod
    def sandbox_app(cls, settings: IGateSettings, tenant: Any):
        from motcua_igate.sandbox import build

        return build(settings, tenant)


def _check_token_response(response: httpx.Response) -> httpx.Response:
    if response.status_code in (400, 401):
        raise Rejected(f"máy chủ cấp mã truy cập từ chối ({response.status_code})")
    check_status(response)
    try:
        msgspec.json.decode(response.content, type=wire.IGateToken)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Malformed(f"mã truy cập không đọc được: {exc}") from exc
    return response


def _parse_cursor(cursor: str | None, since: datetime | None) -> tuple[str, str, int]:
    if cursor:
        if "|" in cursor:
            start, end, page = cursor.split("|")
            return start, end, int(page)
        return cursor, "", 0
    return (mapping.format_time(since) if since else ""), "", 0
