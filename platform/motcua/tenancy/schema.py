"""The tenant file: one province per TOML file, ``tenants/<slug>.toml``.

Strict: unknown keys are errors. Secrets never appear: a key ending in ``_env`` names the
environment variable that holds the value, and ``tenants apply`` stores it encrypted.
``motcua tenants schema`` exports this as JSON Schema for editors.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

EnvName = Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]*$",
                                      description="name of an environment variable that holds the secret")]
HCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z][0-9]{2}$", description="province agency H-code, e.g. H12")]
StatCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2}$", description="statistical (NSO) province code, e.g. 96")]
HHMM = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
CanonicalStatus = Literal["submitted", "received", "not_accepted", "processing", "supplement_required",
                          "awaiting_payment", "withdrawn", "stopped", "resolved", "returned"]
NotifyEvent = Literal["received", "supplement_required", "awaiting_payment", "resolved", "returned",
                      "overdue", "not_accepted", "stopped"]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    pass


class FormerProvince(Strict, kw_only=True):
    """A province merged into this one on 1 July 2025: its old codes still resolve here."""

    name: str
    stat_code: StatCode
    agency_code: HCode
    adapter: str | None = None  # name of an entry in [adapters] if its historic system differs


class Agency(Strict, kw_only=True):
    """An agency (cơ quan): a department (sở, ban, ngành) or a commune's people's committee."""

    code: str  # electronic identifier as used in dossier codes, e.g. 000.00.07.H12
    name: str | None = None  # required except for communes, whose name comes from the ward list
    kind: Literal["province", "department", "commune", "center"] = "department"
    ward_code: str | None = None  # for communes: the 2025 NSO ward code
    topics: list[str] = []  # words that route questions and feedback here


class Zalo(Strict, kw_only=True):
    oa_id: str
    oa_name: str
    app_id: str
    secret_key_env: EnvName  # OA secret key: signs webhooks (X-ZEvent-Signature)
    app_secret_env: EnvName  # app secret: OAuth and appsecret_proof
    mini_app_id: str | None = None
    zns_templates: dict[str, str] = {}  # notification kind -> approved ZNS template id


class AdapterConfig(Strict, kw_only=True):
    family: str
    settings: dict[str, Any] = {}
    secrets: dict[str, EnvName] = {}  # secret name -> environment variable (keys end in _env)
    status_map: dict[str, CanonicalStatus] = {}  # raw status id -> canonical status


class QuietHours(Strict, kw_only=True):
    start: HHMM = "21:00"
    end: HHMM = "07:00"


class Notifications(Strict, kw_only=True):
    events: list[NotifyEvent] = msgspec.field(
        default_factory=lambda: ["received", "supplement_required", "resolved", "returned", "overdue"])
    quiet_hours: QuietHours = QuietHours()
    templates: dict[str, str] = {}  # event -> Vietnamese text with {placeholders}


class RoutingRule(Strict, kw_only=True):
    """Questions and feedback whose text or category matches go to ``agency``."""

    agency: str
    keywords: list[str] = []
    categories: list[str] = []


class Sla(Strict, kw_only=True):
    question_hours: Annotated[float, msgspec.Meta(gt=0)] = 8
    feedback_days: Annotated[float, msgspec.Meta(gt=0)] = 10


class Retention(Strict, kw_only=True):
    messages_days: Annotated[int, msgspec.Meta(ge=30)] = 365
    webhook_events_days: Annotated[int, msgspec.Meta(ge=7)] = 90


class Features(Strict, kw_only=True):
    lookup: bool = True
    notifications: bool = True
    ratings: bool = True
    questions: bool = True
    feedback: bool = True
    public_feedback_page: bool = False
    online_submission: bool = True
    postal: bool = True
    news: bool = True
    utilities: list[str] = []  # chat utility plug-ins switched on, by name


class StaffSignIn(Strict, kw_only=True):
    """The province's own OpenID Connect provider for its staff (optional; the vendor's provider
    and local accounts work without it). The client secret is read from the named variable."""

    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret_env: EnvName | None = None
    oidc_label: str | None = None  # button text, e.g. "Đăng nhập bằng tài khoản công vụ"


class TenantFile(Strict, kw_only=True):
    name: str  # official name, e.g. "Tỉnh Cà Mau"
    stat_code: StatCode
    agency_code: HCode
    timezone: str = "Asia/Ho_Chi_Minh"
    hosts: list[str] = []  # host names the province's Mini App points at
    former: list[FormerProvince] = []
    zalo: Zalo | None = None
    adapter: AdapterConfig
    adapters: dict[str, AdapterConfig] = {}  # extra (historic) systems, by name
    agencies: list[Agency] = []
    routing: list[RoutingRule] = []
    notifications: Notifications = Notifications()
    sla: Sla = Sla()
    features: Features = Features()
    retention: Retention = Retention()
    utilities: dict[str, dict[str, Any]] = {}  # per-utility settings, e.g. [utilities.land_prices]
    staff: StaffSignIn | None = None  # staff sign-in with the province's own provider


class Tenant(msgspec.Struct, kw_only=True):
    """A validated tenant: its slug (the file stem) and its file."""

    slug: str
    file: TenantFile

    @property
    def code_prefixes(self) -> list[str]:
        """H-codes whose dossier codes belong here, current first, then pre-merger ones."""
        return [self.file.agency_code, *(f.agency_code for f in self.file.former)]


def json_schema() -> dict[str, Any]:
    return msgspec.json.schema(TenantFile)
