"""The adapter contract: canonical records, capabilities, errors and the registry.

Everything an adapter author imports comes from here.
"""

from motcua.onestop.codes import find_code, format_code, is_canonical_code, local_phone, normalize_code
from motcua.onestop.contract import (
    CAPABILITY_METHODS,
    Adapter,
    AdapterError,
    Capability,
    Malformed,
    NotSupported,
    OneStopAdapter,
    Rejected,
    Unavailable,
)
from motcua.onestop.records import *  # noqa: F403 - the canonical records are the public surface
from motcua.onestop.records import Status, Timing, timing
from motcua.onestop.registry import AdapterRegistry

__all__ = [
    "CAPABILITY_METHODS", "Adapter", "AdapterError", "AdapterRegistry", "Capability", "Malformed",
    "NotSupported", "OneStopAdapter", "Rejected", "Status", "Timing", "Unavailable", "find_code",
    "format_code", "is_canonical_code", "local_phone", "normalize_code", "timing",
]
