"""Secrets at rest: AES-GCM under the master key, each value bound to its tenant and purpose.

The associated data ``tenant:purpose`` means a ciphertext copied to another tenant's row, or
to another purpose, fails to decrypt. Keyed hashes (HMAC) let us match a phone or ID number
without storing it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class MasterKeyError(RuntimeError):
    pass


def parse_master_key(text: str) -> bytes:
    text = text.strip()
    for decode in (bytes.fromhex, base64.urlsafe_b64decode, base64.b64decode):
        try:
            key = decode(text)  # type: ignore[operator]
        except (ValueError, binascii.Error):
            continue
        if len(key) == 32:
            return key
    raise MasterKeyError("MOTCUA_MASTER_KEY must be 32 bytes, written as 64 hex digits or base64")


def load_master_key(value: str | None, data_dir: Path, *, demo: bool) -> bytes:
    """The key from the environment; in demo mode, one generated once into the data directory."""
    if value:
        return parse_master_key(value)
    if not demo:
        raise MasterKeyError("MOTCUA_MASTER_KEY is required outside demo mode (32 bytes, hex or base64)")
    path = Path(data_dir) / "master.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return parse_master_key(path.read_text())


class Crypto:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise MasterKeyError("the master key must be 32 bytes")
        self._aead = AESGCM(hashlib.sha256(b"motcua.secret\0" + master_key).digest())
        self._hash_key = hashlib.sha256(b"motcua.lookup\0" + master_key).digest()
        self._sign_key = hashlib.sha256(b"motcua.sign\0" + master_key).digest()

    @staticmethod
    def _aad(tenant_id: str, purpose: str) -> bytes:
        return f"{tenant_id}:{purpose}".encode()

    def encrypt(self, tenant_id: str, purpose: str, plaintext: str | bytes) -> tuple[bytes, bytes]:
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        nonce = os.urandom(12)
        return nonce, self._aead.encrypt(nonce, data, self._aad(tenant_id, purpose))

    def decrypt(self, tenant_id: str, purpose: str, nonce: bytes, ciphertext: bytes) -> bytes:
        return self._aead.decrypt(nonce, ciphertext, self._aad(tenant_id, purpose))

    def seal(self, tenant_id: str, purpose: str, plaintext: str) -> bytes:
        """Nonce and ciphertext in one value, for a single encrypted column."""
        nonce, ct = self.encrypt(tenant_id, purpose, plaintext)
        return nonce + ct

    def open(self, tenant_id: str, purpose: str, sealed: bytes) -> str:
        return self.decrypt(tenant_id, purpose, sealed[:12], sealed[12:]).decode()

    def lookup_key(self, tenant_id: str, kind: str, value: str) -> str:
        """A keyed hash to find rows by phone or ID number without storing them."""
        msg = f"{tenant_id}:{kind}:{value}".encode()
        return hmac.new(self._hash_key, msg, hashlib.sha256).hexdigest()

    def sign(self, message: str) -> str:
        """A short unguessable token for links (status pages, forms)."""
        mac = hmac.new(self._sign_key, message.encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def verify(self, message: str, token: str) -> bool:
        return hmac.compare_digest(self.sign(message), token or "")


def normalize_phone(phone: str) -> str:
    """Vietnamese phone numbers as 84xxxxxxxxx (Zalo's and ZNS's form)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits.startswith("0"):
        digits = "84" + digits[1:]
    return digits


async def put_secret(conn, crypto: Crypto, tenant_id: str, purpose: str, value: str) -> None:
    nonce, ct = crypto.encrypt(tenant_id, purpose, value)
    await conn.execute(
        """INSERT INTO secret (tenant_id, purpose, nonce, ciphertext) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, purpose) DO UPDATE SET nonce = $3, ciphertext = $4, updated_at = now()""",
        tenant_id, purpose, nonce, ct)


async def get_secret(conn, crypto: Crypto, tenant_id: str, purpose: str) -> str | None:
    row = await conn.fetchrow("SELECT nonce, ciphertext FROM secret WHERE tenant_id = $1 AND purpose = $2",
                              tenant_id, purpose)
    return crypto.decrypt(tenant_id, purpose, row["nonce"], row["ciphertext"]).decode() if row else None


async def get_secrets(conn, crypto: Crypto, tenant_id: str, prefix: str) -> dict[str, str]:
    """All secrets whose purpose starts with ``prefix``, keyed by the rest of the purpose."""
    rows = await conn.fetch("SELECT purpose, nonce, ciphertext FROM secret WHERE tenant_id = $1 AND purpose LIKE $2",
                            tenant_id, prefix + "%")
    return {r["purpose"][len(prefix):]: crypto.decrypt(tenant_id, r["purpose"], r["nonce"], r["ciphertext"]).decode()
            for r in rows}
