"""The contract an adapter family implements, and the errors it may raise.

An adapter family (one per kind of one-stop system: ``igate``, ``dvcqg``, ``push``, ...)
is a class with ``family``, a msgspec ``Settings`` Struct typed from the tenant file's
``[adapter]`` table, the set of ``capabilities`` it declares, and one async method per
capability. The core calls only what is declared; an undeclared capability raises
``NotSupported`` and the features built on it are hidden from citizens.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

import msgspec

from motcua.onestop.records import (
    ChangePage,
    Dossier,
    Evaluation,
    Feedback,
    PostalReceipt,
    PostalRequest,
    Procedure,
    PushedChange,
    Receipt,
    Status,
    Submission,
)


class Capability(enum.StrEnum):
    lookup_by_code = "lookup_by_code"
    lookup_by_owner = "lookup_by_owner"  # by the citizen's phone or ID number
    change_feed = "change_feed"  # changes since a cursor (polling)
    push_events = "push_events"  # the system pushes changes to POST /onestop/{tenant}/events
    submission = "submission"
    evaluation = "evaluation"
    feedback = "feedback"
    postal = "postal"
    procedures = "procedures"


# The method that serves each capability: the core and the conformance suite both use it.
CAPABILITY_METHODS: dict[Capability, str] = {
    Capability.lookup_by_code: "lookup",
    Capability.lookup_by_owner: "lookup_by_owner",
    Capability.change_feed: "changes",
    Capability.push_events: "parse_push",
    Capability.submission: "submit",
    Capability.evaluation: "rate",
    Capability.feedback: "send_feedback",
    Capability.postal: "request_postal",
    Capability.procedures: "procedures",
}


class AdapterError(Exception):
    """Base of every error an adapter raises; ``message`` is safe to show an admin."""


class NotSupported(AdapterError):
    """The family does not declare this capability."""


class Unavailable(AdapterError):
    """The one-stop system is down, slow or answered 5xx: retry later, answer from cache."""


class Rejected(AdapterError):
    """The system refused the request for a reason a person can act on (bad input, auth)."""


class Malformed(AdapterError):
    """The system answered something that cannot be mapped."""


@runtime_checkable
class OneStopAdapter(Protocol):
    """What the core may call. Each call is optional: see ``capabilities``."""

    family: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]

    async def lookup(self, code: str) -> Dossier | None: ...
    async def lookup_by_owner(self, *, phone: str | None = None, id_number: str | None = None) -> list[Dossier]: ...
    async def changes(self, cursor: str | None, *, since: datetime | None = None) -> ChangePage: ...
    async def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[PushedChange]: ...
    async def submit(self, submission: Submission) -> Receipt: ...
    async def rate(self, evaluation: Evaluation) -> None: ...
    async def send_feedback(self, feedback: Feedback) -> str: ...
    async def request_postal(self, request: PostalRequest) -> PostalReceipt: ...
    async def procedures(self) -> list[Procedure]: ...
    async def aclose(self) -> None: ...


class Adapter:
    """A convenient base: undeclared capabilities raise ``NotSupported``; the status table
    maps raw values to canonical ones and never guesses.

    Subclasses set ``family``, ``Settings``, ``capabilities`` and, where the system has its
    own status ids, ``default_status_map`` (a tenant file may override it per province).
    """

    family: ClassVar[str] = ""
    Settings: ClassVar[type[msgspec.Struct]]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    default_status_map: ClassVar[Mapping[str, Status]] = {}

    def __init__(self, settings: Any, *, secrets: Mapping[str, str] | None = None,
                 status_map: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.secrets = dict(secrets or {})
        table = dict(self.default_status_map)
        table.update({str(k): Status(v) for k, v in (status_map or {}).items()})
        self.status_map: dict[str, Status] = table

    def map_status(self, raw: str | int) -> Status:
        """The canonical status for a raw one, or ``unknown``: never a guess."""
        return self.status_map.get(str(raw).strip(), Status.unknown)

    def secret(self, name: str) -> str:
        try:
            return self.secrets[name]
        except KeyError:
            raise Rejected(f"thiếu bí mật '{name}' trong cấu hình bộ kết nối") from None

    async def lookup(self, code: str) -> Dossier | None:
        raise NotSupported("lookup_by_code")

    async def lookup_by_owner(self, *, phone: str | None = None, id_number: str | None = None) -> list[Dossier]:
        raise NotSupported("lookup_by_owner")

    async def changes(self, cursor: str | None, *, since: datetime | None = None) -> ChangePage:
        raise NotSupported("change_feed")

    async def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[PushedChange]:
        raise NotSupported("push_events")

    async def submit(self, submission: Submission) -> Receipt:
        raise NotSupported("submission")

    async def rate(self, evaluation: Evaluation) -> None:
        raise NotSupported("evaluation")

    async def send_feedback(self, feedback: Feedback) -> str:
        raise NotSupported("feedback")

    async def request_postal(self, request: PostalRequest) -> PostalReceipt:
        raise NotSupported("postal")

    async def procedures(self) -> list[Procedure]:
        raise NotSupported("procedures")

    async def aclose(self) -> None:
        return None
