"""The simulator's memory: OAs, their users, tokens, outbox, transcripts, faults and counters.

Everything lives in one ``SimState`` per process (``runtime.state["sim"]``): the demo is one
process and so is a test session. Nothing here is durable, on purpose — a restart is a fresh
Zalo. All mutation happens between awaits on one event loop, so no locks are needed except
around (re)loading the OAs from the database.

OAs come from the applied tenants: the tenant file gives the OA id, app id and ZNS template
ids; the OA secret key (signs webhooks) and the app secret (OAuth, appsecret_proof) are read
from the tenant's stored secrets, exactly the values Motcua itself will use.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from motcua.crypto import get_secret

# Zalo's documented lifetimes (zalo.md §2.3): access 25 h, refresh 3 months, code 10 min.
ACCESS_TOKEN_SECONDS = 90_000
REFRESH_TOKEN_SECONDS = 90 * 86_400
AUTH_CODE_SECONDS = 600
PHONE_TOKEN_SECONDS = 120  # Mini App getPhoneNumber token: 2 min, single use (UNCONFIRMED TTL)
WINDOW_FREE_SECONDS = 48 * 3600  # CS messages free within 48 h of the last interaction
WINDOW_SECONDS = 7 * 86_400  # and rejected after 7 days (-230/-232)
RETRY_DELAYS = (30.0, 300.0, 900.0, 1800.0, 3600.0)  # webhook retries (zalo.md §3.2)
OUTBOX_KEEP = 50_000
OA_LOAD_SECONDS = 5.0  # tenants applied meanwhile are picked up within this


def now_ms() -> int:
    return int(time.time() * 1000)


def zalo_id() -> str:
    """A 19-digit id like Zalo's: larger than 2**53, so a client that parses it as a float breaks."""
    return str(10**18 + secrets.randbelow(9 * 10**18))


def msg_id() -> str:
    return secrets.token_hex(16)


def token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(48)


@dataclass
class User:
    """A citizen as one OA sees them: OA-scoped ``user_id``, app-scoped ``user_id_by_app``."""

    user_id: str
    oa_id: str
    user_id_by_app: str
    miniapp_id: str = field(default_factory=zalo_id)  # the id a Mini App of this province sees
    display_name: str = "Người dùng Zalo"
    phone: str | None = None  # the person's phone: ZNS sent to it shows in their chat
    avatar: str = ""
    follows: bool = False
    followed_at: int | None = None
    unfollowed_at: int | None = None
    last_interaction: int | None = None  # epoch ms of the last thing that opens the CS window
    last_message_at: int | None = None
    clicked_chatnow: bool = False
    tags: set[str] = field(default_factory=set)
    shared_info: dict[str, Any] = field(default_factory=dict)
    transcript: list[dict[str, Any]] = field(default_factory=list)

    def interact(self, at: int | None = None, *, message: bool = False) -> None:
        at = at or now_ms()
        self.last_interaction = max(self.last_interaction or 0, at)
        if message:
            self.last_message_at = at


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    access_expires_at: float
    refresh_expires_at: float
    issued_at: float


@dataclass
class OA:
    """One Official Account and the Zalo app that manages it (one app per tenant here)."""

    tenant: str
    oa_id: str
    oa_name: str
    app_id: str
    secret_key: str | None
    app_secret: str | None
    mini_app_id: str | None
    zns_templates: dict[str, str]
    default_webhook_url: str
    webhook_url: str | None = None  # None: the default, {public_url}/zalo/{tenant}/webhook
    webhook_enabled: bool = True
    echoes: bool = True  # oa_send_* events for the OA's own API messages, like Zalo
    receipts: bool = True  # user_received_message for CS and ZNS messages
    require_appsecret_proof: bool = False
    redirect_uris: list[str] = field(default_factory=list)  # empty: any callback is accepted
    admin_phones: set[str] = field(default_factory=set)  # who may receive ZNS mode=development
    no_zalo_phones: set[str] = field(default_factory=set)  # phones without a Zalo account (-118)
    rate_limit_per_minute: int = 4000  # zalo.md §1.8: 4,000 requests per minute per app
    zns_daily_quota: int = 500
    zns_remaining: int = 500
    users: dict[str, User] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)
    current: TokenPair | None = None  # the pair last issued (what GET /sim/api/tenants shows)
    calls: deque[float] = field(default_factory=deque)  # request times in the last minute

    @property
    def webhook(self) -> str:
        return self.webhook_url or self.default_webhook_url

    def rate_check(self) -> tuple[bool, int]:
        """Count this call; (allowed, remaining) in the sliding minute."""
        t = time.monotonic()
        while self.calls and t - self.calls[0] > 60:
            self.calls.popleft()
        if len(self.calls) >= self.rate_limit_per_minute:
            return False, 0
        self.calls.append(t)
        return True, self.rate_limit_per_minute - len(self.calls)

    def config(self) -> dict[str, Any]:
        return {"webhook_url": self.webhook, "webhook_enabled": self.webhook_enabled, "echoes": self.echoes,
                "receipts": self.receipts, "require_appsecret_proof": self.require_appsecret_proof,
                "redirect_uris": list(self.redirect_uris), "admin_phones": sorted(self.admin_phones),
                "no_zalo_phones": sorted(self.no_zalo_phones), "rate_limit_per_minute": self.rate_limit_per_minute,
                "zns_daily_quota": self.zns_daily_quota, "zns_remaining": self.zns_remaining}


@dataclass
class Grant:
    """An authorization code from the consent page."""

    oa_id: str
    app_id: str
    redirect_uri: str
    code_challenge: str | None
    expires_at: float
    used: bool = False


@dataclass
class Fault:
    mode: str | None = None  # timeout | 5xx | quota | rate_limit (expired_token acts at once)
    until: float | None = None  # time.time() when it switches itself off; None = until cleared
    count: int | None = None  # calls left to fail; None = unlimited
    endpoints: list[str] = field(default_factory=list)  # substrings of the path; empty = every Zalo API
    oa_id: str | None = None
    delay: float = 15.0  # how long "timeout" holds the request before giving up

    def active(self) -> bool:
        if self.mode is None:
            return False
        if (self.until is not None and time.time() >= self.until) or self.count == 0:
            self.mode = None
            return False
        return True

    def matches(self, path: str, oa_id: str | None) -> bool:
        if not self.active():
            return False
        if self.oa_id and oa_id and self.oa_id != oa_id:
            return False
        return not self.endpoints or any(e in path for e in self.endpoints)

    def consume(self) -> None:
        if self.count is not None:
            self.count -= 1

    def describe(self) -> dict[str, Any]:
        self.active()
        return {"mode": self.mode, "until": self.until, "count": self.count, "endpoints": self.endpoints,
                "oa_id": self.oa_id, "delay": self.delay}


@dataclass
class Stats:
    refresh_calls: int = 0
    refresh_errors: int = 0
    code_exchanges: int = 0
    api_calls: int = 0
    sends: dict[str, int] = field(default_factory=dict)  # channel -> accepted messages
    rejected: dict[str, int] = field(default_factory=dict)  # error code -> count
    webhook_deliveries: int = 0
    webhook_failures: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"refresh_calls": self.refresh_calls, "refresh_errors": self.refresh_errors,
                "code_exchanges": self.code_exchanges, "api_calls": self.api_calls, "sends": dict(self.sends),
                "sends_total": sum(self.sends.values()), "rejected": dict(self.rejected),
                "webhook_deliveries": self.webhook_deliveries, "webhook_failures": self.webhook_failures}


@dataclass
class MiniAppSession:
    access_token: str
    oa_id: str
    user_id: str  # the OA-scoped id (idByOA)
    id: str  # the Mini App (per Zalo App) user id
    expires_at: float


@dataclass
class SimConfig:
    access_token_seconds: float = ACCESS_TOKEN_SECONDS
    refresh_token_seconds: float = REFRESH_TOKEN_SECONDS
    webhook_timeout: float = 2.0  # Zalo wants HTTP 200 within 2 s
    retry_delays: tuple[float, ...] = RETRY_DELAYS
    receipt_delay: float = 0.3  # how long after a send the citizen's phone "receives" it
    # zalo.md §2.3: the old access token stops working when a new one is issued (one source,
    # UNCONFIRMED). The strict reading is the safer one to test against.
    invalidate_old_access_token: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"access_token_seconds": self.access_token_seconds, "refresh_token_seconds": self.refresh_token_seconds,
                "webhook_timeout": self.webhook_timeout, "retry_delays": list(self.retry_delays),
                "receipt_delay": self.receipt_delay, "invalidate_old_access_token": self.invalidate_old_access_token}


class SimState:
    def __init__(self, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")
        self.config = SimConfig()
        self.oas: dict[str, OA] = {}
        self.by_tenant: dict[str, str] = {}
        self.by_app: dict[str, str] = {}
        self.access: dict[str, tuple[str, float]] = {}  # access token -> (oa_id, expires_at)
        self.refresh: dict[str, tuple[str, float]] = {}  # unused refresh token -> (oa_id, expires_at)
        self.spent_refresh: dict[str, str] = {}  # used refresh token -> oa_id (to say "reused")
        self.grants: dict[str, Grant] = {}
        self.miniapp: dict[str, MiniAppSession] = {}
        self.phone_tokens: dict[str, tuple[str, str, float]] = {}  # code -> (oa_id, user_id, expires_at)
        self.media: dict[str, tuple[str, bytes]] = {}  # id -> (content type, bytes)
        self.attachments: dict[str, tuple[str, str, float]] = {}  # attachment_id/token -> (oa_id, media id, expires)
        self.outbox: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.zns: dict[str, dict[str, Any]] = {}  # ZNS msg_id -> status record
        self.stats: dict[str, Stats] = {}
        self.fault = Fault()
        self.seq = 0
        self.tasks: set[asyncio.Task[Any]] = set()
        self.http: Any = None  # httpx.AsyncClient for webhook deliveries, made on first use
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    # ---- OAs -------------------------------------------------------------------------------

    async def load(self, runtime: Any, *, force: bool = False) -> None:
        """(Re)read the OAs from the applied tenants; cheap when done in the last few seconds."""
        if not force and time.monotonic() - self._loaded_at < OA_LOAD_SECONDS:
            return
        async with self._lock:
            if not force and time.monotonic() - self._loaded_at < OA_LOAD_SECONDS:
                return
            for slug in await runtime.tenant_slugs():
                tenant = await runtime.tenant(slug)
                if tenant is None or tenant.file.zalo is None:
                    continue
                z = tenant.file.zalo
                async with runtime.db.tenant(slug) as conn:
                    secret_key = await get_secret(conn, runtime.crypto, slug, "zalo.secret_key")
                    app_secret = await get_secret(conn, runtime.crypto, slug, "zalo.app_secret")
                oa = self.oas.get(z.oa_id)
                default_hook = f"{self.public_url}/zalo/{slug}/webhook"
                if oa is None:
                    oa = self.oas[z.oa_id] = OA(tenant=slug, oa_id=z.oa_id, oa_name=z.oa_name, app_id=z.app_id,
                                                secret_key=secret_key, app_secret=app_secret,
                                                mini_app_id=z.mini_app_id, zns_templates=dict(z.zns_templates),
                                                default_webhook_url=default_hook)
                    self.stats.setdefault(z.oa_id, Stats())
                else:  # the tenant file or its secrets may have changed since
                    oa.tenant, oa.oa_name, oa.app_id = slug, z.oa_name, z.app_id
                    oa.secret_key, oa.app_secret, oa.mini_app_id = secret_key, app_secret, z.mini_app_id
                    oa.zns_templates, oa.default_webhook_url = dict(z.zns_templates), default_hook
                self.by_tenant[slug] = z.oa_id
                self.by_app[z.app_id] = z.oa_id
            self._loaded_at = time.monotonic()

    def find_oa(self, key: str | None) -> OA | None:
        """An OA by its id, its tenant slug or its app id."""
        if not key:
            return None
        key = str(key)
        oa_id = key if key in self.oas else self.by_tenant.get(key) or self.by_app.get(key)
        return self.oas.get(oa_id) if oa_id else None

    def stats_for(self, oa_id: str) -> Stats:
        return self.stats.setdefault(oa_id, Stats())

    # ---- users -----------------------------------------------------------------------------

    def user(self, oa: OA, user_id: str | None = None, *, create: bool = True) -> User | None:
        if user_id and user_id in oa.users:
            return oa.users[user_id]
        if not create:
            return None
        uid = user_id or zalo_id()
        u = oa.users[uid] = User(user_id=uid, oa_id=oa.oa_id, user_id_by_app=zalo_id())
        return u

    def users_by_phone(self, oa: OA, phone: str) -> list[User]:
        return [u for u in oa.users.values() if u.phone == phone]

    # ---- tokens ----------------------------------------------------------------------------

    def issue_tokens(self, oa: OA, *, expires_in: float | None = None) -> TokenPair:
        t = time.time()
        if self.config.invalidate_old_access_token:
            for tok, (owner, _) in list(self.access.items()):
                if owner == oa.oa_id:
                    del self.access[tok]
        pair = TokenPair(access_token=token(), refresh_token=token(),
                         access_expires_at=t + (self.config.access_token_seconds if expires_in is None else expires_in),
                         refresh_expires_at=t + self.config.refresh_token_seconds, issued_at=t)
        self.access[pair.access_token] = (oa.oa_id, pair.access_expires_at)
        self.refresh[pair.refresh_token] = (oa.oa_id, pair.refresh_expires_at)
        oa.current = pair
        return pair

    def check_access(self, value: str | None) -> tuple[OA | None, str | None]:
        """(oa, None) when valid, else (oa or None, "invalid" | "expired")."""
        if not value:
            return None, "invalid"
        hit = self.access.get(value)
        if hit is None:
            return None, "invalid"
        oa = self.oas.get(hit[0])
        if time.time() >= hit[1]:
            return oa, "expired"
        return oa, None

    def expire_access(self, oa_id: str | None = None) -> int:
        """Make every current access token (of one OA, or all) expired now; refresh tokens stay valid."""
        n = 0
        for tok, (owner, exp) in list(self.access.items()):
            if oa_id is None or owner == oa_id:
                self.access[tok] = (owner, min(exp, time.time() - 1))
                n += 1
        for oa in self.oas.values():
            if oa.current and (oa_id is None or oa.oa_id == oa_id):
                oa.current.access_expires_at = min(oa.current.access_expires_at, time.time() - 1)
        return n

    # ---- records ---------------------------------------------------------------------------

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def record_out(self, oa: OA, channel: str, **fields: Any) -> dict[str, Any]:
        item = {"seq": self.next_seq(), "time": now_ms(), "tenant": oa.tenant, "oa_id": oa.oa_id,
                "channel": channel, **fields}
        self.outbox.append(item)
        del self.outbox[:-OUTBOX_KEEP]  # a long-running demo must not grow without end
        stats = self.stats_for(oa.oa_id)
        stats.sends[channel] = stats.sends.get(channel, 0) + 1
        return item

    def add_transcript(self, user: User, direction: str, kind: str, **fields: Any) -> dict[str, Any]:
        entry = {"seq": self.next_seq(), "time": now_ms(), "direction": direction, "kind": kind, **fields}
        user.transcript.append(entry)
        return entry

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def aclose(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.http is not None:
            await self.http.aclose()


def get_state(runtime: Any) -> SimState:
    """The process's simulator, created on first use."""
    sim = runtime.state.get("sim")
    if sim is None:
        sim = runtime.state["sim"] = SimState(runtime.settings.public_url)
    return sim
