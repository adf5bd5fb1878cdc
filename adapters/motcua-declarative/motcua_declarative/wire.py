"""The declarative family has no fixed wire: the tenant file says where each field lives.

``get_path(document, "data.ho_so.0.ma")`` walks a decoded JSON document by a simple dotted path
(keys, and list indices as numbers); a missing step gives None. ``DeclarativeFields`` and
``DeclarativeProcedureFields`` are the tables of such paths.
"""

from __future__ import annotations

from typing import Any

import msgspec


def get_path(document: Any, path: str | None) -> Any:
    if path is None:
        return None
    if path == "":
        return document
    node = document
    for step in path.split("."):
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and step.lstrip("-").isdigit() and -len(node) <= int(step) < len(node):
            node = node[int(step)]
        else:
            return None
        if node is None:
            return None
    return node


class DeclarativeFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Where each dossier field lives inside one record (dotted paths; omit what the system lacks)."""

    code: str
    status: str
    status_label: str | None = None
    procedure_code: str | None = None
    procedure_name: str | None = None
    agency_code: str | None = None
    agency_name: str | None = None
    handler: str | None = None
    applicant_name: str | None = None
    applicant_phone: str | None = None
    applicant_id_number: str | None = None
    submitted_at: str | None = None
    received_at: str | None = None
    due_at: str | None = None
    finished_at: str | None = None
    returned_at: str | None = None
    updated_at: str | None = None
    online: str | None = None
    missing_papers: str | None = None
    note: str | None = None


class DeclarativeProcedureFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: str
    name: str
    sector: str | None = None
    agency_code: str | None = None
    agency_name: str | None = None
    processing_days: str | None = None
    fee: str | None = None
    online: str | None = None
    papers: str | None = None  # the list of papers; the next two are paths inside each paper
    paper_code: str | None = None
    paper_name: str | None = None
    form: str | None = None  # the list of form fields; the next three are paths inside each field
    form_name: str | None = None
    form_label: str | None = None
    form_type: str | None = None
