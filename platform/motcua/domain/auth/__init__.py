"""Staff sign-in and roles (đăng nhập cán bộ, phân quyền).

Four roles: the vendor's **operator** (every tenant, stored in the platform table ``operator``),
and per tenant an **admin** (the province's administrator), an **officer** (cán bộ, scoped to
the agencies listed on their account) and a **viewer** (leaders: read only). Accounts sign in
with a local password (argon2id) or OpenID Connect; a session is a random cookie whose SHA-256
is stored in ``staff_session``, with an absolute and an idle expiry and its own CSRF token.
Failed sign-ins are throttled in PostgreSQL, so the limit holds across processes.

Nothing here speaks HTTP; ``motcua.staff`` turns these into pages.
"""

from motcua.domain.auth.accounts import (
    ROLES,
    AccountError,
    create_operator,
    create_staff_user,
    find_operator,
    find_staff_user,
)
from motcua.domain.auth.principal import Principal
from motcua.domain.auth.sessions import SESSION_ABSOLUTE, SESSION_IDLE, close_session, load_session, open_session
from motcua.domain.auth.throttle import Throttled, check_throttle, record_failure, record_success

__all__ = [
    "ROLES", "SESSION_ABSOLUTE", "SESSION_IDLE", "AccountError", "Principal", "Throttled", "check_throttle",
    "close_session", "create_operator", "create_staff_user", "find_operator", "find_staff_user",
    "load_session", "open_session", "record_failure", "record_success",
]
