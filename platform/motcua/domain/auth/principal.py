"""Who is signed in, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["operator", "admin", "officer", "viewer"]

ROLE_LABELS = {"operator": "Nhà cung cấp (vận hành)", "admin": "Quản trị tỉnh", "officer": "Cán bộ",
               "viewer": "Lãnh đạo (chỉ xem)"}


@dataclass(frozen=True)
class Principal:
    kind: Literal["operator", "staff"]
    id: int
    email: str
    name: str
    role: Role
    tenant: str | None  # None for operators
    agencies: tuple[str, ...] = ()
    specialist: bool = False
    csrf: str = ""
    session: str = field(default="", repr=False)  # the session's token hash

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return f"{self.kind}:{self.email}"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    def can_view(self, tenant: str) -> bool:
        return self.role == "operator" or self.tenant == tenant

    def can_handle(self, tenant: str) -> bool:
        """Answer questions and feedback (officers within their agencies)."""
        return self.role == "operator" or (self.tenant == tenant and self.role in ("admin", "officer"))

    def can_admin(self, tenant: str) -> bool:
        return self.role == "operator" or (self.tenant == tenant and self.role == "admin")

    @property
    def all_agencies(self) -> bool:
        """Admins, viewers and operators see every agency of the tenant; officers only theirs."""
        return self.role != "officer"

    def sees(self, agency_code: str | None, assignee: str | None = None) -> bool:
        """May this person see an item routed to ``agency_code`` (or assigned to ``assignee``)?"""
        if self.all_agencies:
            return True
        return (agency_code is not None and agency_code in self.agencies) or (
            assignee is not None and assignee == self.email)
