"""Secrets at rest are bound to tenant and purpose; keys come from the environment or the demo."""

import pytest
from cryptography.exceptions import InvalidTag

from motcua.crypto import Crypto, MasterKeyError, load_master_key, normalize_phone, parse_master_key


def test_a_ciphertext_only_opens_for_its_tenant_and_purpose():
    c = Crypto(bytes(range(32)))
    nonce, ct = c.encrypt("ca-mau", "zalo.access_token", "tok-123")
    assert b"tok-123" not in ct
    assert c.decrypt("ca-mau", "zalo.access_token", nonce, ct) == b"tok-123"
    with pytest.raises(InvalidTag):
        c.decrypt("an-giang", "zalo.access_token", nonce, ct)
    with pytest.raises(InvalidTag):
        c.decrypt("ca-mau", "zalo.refresh_token", nonce, ct)
    with pytest.raises(InvalidTag):
        Crypto(bytes(32)).decrypt("ca-mau", "zalo.access_token", nonce, ct)


def test_sealed_columns_and_signed_links():
    c = Crypto(bytes(range(32)))
    assert c.open("t", "phone", c.seal("t", "phone", "84912345678")) == "84912345678"
    token = c.sign("ca-mau:0000007H122511190001")
    assert c.verify("ca-mau:0000007H122511190001", token)
    assert not c.verify("ca-mau:0000007H122511190002", token)
    assert c.lookup_key("t", "phone", "84912345678") != c.lookup_key("u", "phone", "84912345678")


def test_master_key_forms_and_demo_generation(tmp_path):
    hexkey = "ab" * 32
    assert parse_master_key(hexkey) == bytes.fromhex(hexkey)
    with pytest.raises(MasterKeyError):
        parse_master_key("too-short")
    with pytest.raises(MasterKeyError, match="required outside demo"):
        load_master_key(None, tmp_path, demo=False)
    first = load_master_key(None, tmp_path, demo=True)
    assert load_master_key(None, tmp_path, demo=True) == first  # generated once, kept
    assert oct((tmp_path / "master.key").stat().st_mode & 0o777) == "0o600"


def test_phone_numbers_take_zalos_form():
    assert normalize_phone("0912 345 678") == "84912345678"
    assert normalize_phone("+84 912-345-678") == "84912345678"
