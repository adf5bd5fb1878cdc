"""iGate's JSON payloads as the system sends them (onestop.md §1.7). Lenient: unknown fields are
ignored, dates stay strings until mapping.py parses them (iGate writes ``+0700`` offsets)."""

from __future__ import annotations

import msgspec


class IGateIdName(msgspec.Struct, kw_only=True):
    id: int | str | None = None
    name: str | None = None


class IGateApplicantData(msgspec.Struct, kw_only=True):
    fullname: str | None = None
    identityNumber: str | None = None
    phoneNumber: str | None = None
    email: str | None = None
    address: str | None = None


class IGateApplicant(msgspec.Struct, kw_only=True):
    data: IGateApplicantData = msgspec.field(default_factory=IGateApplicantData)


class IGateTranslate(msgspec.Struct, kw_only=True):
    name: str | None = None


class IGateProcedureRef(msgspec.Struct, kw_only=True):
    code: str | None = None
    translate: IGateTranslate = msgspec.field(default_factory=IGateTranslate)
    sector: IGateTranslate | None = None


class IGateAgency(msgspec.Struct, kw_only=True):
    id: str | None = None
    code: str | None = None
    name: str | None = None


class IGateAssignee(msgspec.Struct, kw_only=True):
    fullname: str | None = None


class IGateTask(msgspec.Struct, kw_only=True):
    name: str | None = None
    assignee: IGateAssignee | None = None


class IGateDossier(msgspec.Struct, kw_only=True):
    id: str | None = None
    code: str
    dossierStatus: IGateIdName
    dossierTaskStatus: IGateIdName | None = None
    applicant: IGateApplicant = msgspec.field(default_factory=IGateApplicant)
    procedure: IGateProcedureRef | None = None
    agency: IGateAgency | None = None
    appliedDate: str | None = None
    acceptedDate: str | None = None
    appointmentDate: str | None = None
    completedDate: str | None = None
    returnedDate: str | None = None
    updatedDate: str | None = None
    applyMethod: IGateIdName | None = None  # 0 trực tiếp, 1 trực tuyến, 2 bưu chính
    currentTask: list[IGateTask] = []
    additionalRequirement: list[str] = []
    comment: str | None = None


class IGateSlice(msgspec.Struct, kw_only=True):
    """Spring Data's slice (``spec=slice``): no total count, only whether it was the last page.
    ``content`` stays raw so one bad record is quarantined instead of failing the page."""

    content: list[msgspec.Raw] = []
    number: int = 0
    size: int = 20
    last: bool = True
    serverTime: str | None = None  # the end of the change window the server used


class IGateToken(msgspec.Struct, kw_only=True):
    access_token: str
    expires_in: int = 300
    token_type: str = "Bearer"


class IGateComponent(msgspec.Struct, kw_only=True):
    code: str
    name: str
    quantity: int = 1
    required: bool = True


class IGateFormComponent(msgspec.Struct, kw_only=True):
    key: str
    label: str
    type: str = "textfield"
    required: bool = True


class IGateEForm(msgspec.Struct, kw_only=True):
    components: list[IGateFormComponent] = []


class IGateProcedure(msgspec.Struct, kw_only=True):
    code: str
    translate: IGateTranslate
    sector: IGateTranslate | None = None
    agency: list[IGateAgency] = []
    level: str | None = None
    processingTime: float | None = None
    fee: str | None = None
    applyOnline: bool = False
    dossierComponent: list[IGateComponent] = []
    eForm: IGateEForm | None = None


class IGateProcedureSlice(msgspec.Struct, kw_only=True):
    content: list[IGateProcedure] = []
    last: bool = True


class IGateCreated(msgspec.Struct, kw_only=True):
    id: str | None = None
    code: str
    dossierStatus: IGateIdName | None = None
    appliedDate: str | None = None
    appointmentDate: str | None = None


class IGateReference(msgspec.Struct, kw_only=True):
    id: str
    code: str | None = None
    status: str | None = None
