"""The pure parts of the Zalo channel: the webhook signature, event parsing, Zalo's error
codes, text limits, PKCE and tracking ids — each against the reference (zalo.md)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata

import pytest

from motcua.channels.zalo import events, signature
from motcua.channels.zalo.client import (
    CS_TEXT_LIMIT,
    Button,
    QuotaExceeded,
    RateLimited,
    Rejected,
    TokenExpired,
    Transient,
    WindowClosed,
    check,
    fit_text,
    text_message,
)
from motcua.channels.zalo.oauth import challenge_for, pkce_pair
from motcua.channels.zalo.outbox import tracking_id

APP_ID = "4318592734128876543"
OA_SECRET = "oa-secret-from-the-webhook-page"
APP_SECRET = "the-app-secret"
BODY = (b'{"app_id":"4318592734128876543","sender":{"id":"8000000000000000001"},"user_id_by_app":"55",'
        b'"recipient":{"id":"2912350981298341101"},"event_name":"user_send_text",'
        b'"message":{"text":"Xin ch\xc3\xa0o","msg_id":"abc123"},"timestamp":"1763900000000"}')


def zalo_mac(app_id: str, body: bytes, ts: str, key: str) -> str:
    # zalo.md §3.3, written out independently: sha256(appId + data + timeStamp + OAsecretKey)
    return hashlib.sha256((app_id + body.decode() + ts + key).encode()).hexdigest()


def test_signature_is_the_plain_sha256_zalo_documents():
    mac = zalo_mac(APP_ID, BODY, "1763900000000", OA_SECRET)
    assert signature.compute_mac(APP_ID, BODY, "1763900000000", OA_SECRET) == mac
    for header in (f"mac={mac}", mac, f"MAC={mac.upper()}", f" mac={mac} "):
        assert signature.verify(BODY, header, app_id=APP_ID, timestamp="1763900000000", secret_key=OA_SECRET)


@pytest.mark.parametrize("header", [
    None, "", "mac=",
    "mac=" + zalo_mac(APP_ID, BODY, "1763900000000", APP_SECRET),  # the App Secret is the wrong key
    "mac=" + hmac.new(OA_SECRET.encode(), BODY, hashlib.sha256).hexdigest(),  # HMAC never matches
    "mac=" + zalo_mac("2912350981298341101", BODY, "1763900000000", OA_SECRET),  # oa_id instead of app_id
    "mac=" + zalo_mac(APP_ID, json.dumps(json.loads(BODY)).encode(), "1763900000000", OA_SECRET),  # re-serialised
])
def test_wrong_signatures_fail_closed(header):
    assert not signature.verify(BODY, header, app_id=APP_ID, timestamp="1763900000000", secret_key=OA_SECRET)


def test_a_changed_body_or_timestamp_breaks_the_signature():
    mac = "mac=" + zalo_mac(APP_ID, BODY, "1763900000000", OA_SECRET)
    assert not signature.verify(BODY.replace(b"abc123", b"abc124"), mac, app_id=APP_ID,
                                timestamp="1763900000000", secret_key=OA_SECRET)
    assert not signature.verify(BODY, mac, app_id=APP_ID, timestamp="1763900000001", secret_key=OA_SECRET)
    assert not signature.verify(BODY, mac, app_id=APP_ID, timestamp="1763900000000", secret_key="")


def test_user_message_parses_with_ids_as_strings():
    ev = events.parse(BODY)
    assert ev.event_name == "user_send_text" and ev.ts == "1763900000000"
    assert ev.user() == "8000000000000000001"
    assert ev.oa_candidates()[0] == "2912350981298341101"
    assert ev.event_key() == "user_send_text:abc123"
    assert not ev.is_oa_echo


def test_echo_and_receipt_of_one_message_have_different_keys_and_point_at_the_user():
    oa, user = "2912350981298341101", "8000000000000000001"
    echo = events.convert({"app_id": APP_ID, "sender": {"id": oa}, "recipient": {"id": user},
                           "event_name": "oa_send_text", "message": {"msg_id": "m1", "text": "hi"}, "timestamp": "1"})
    receipt = events.convert({"app_id": APP_ID, "sender": {"id": oa}, "recipient": {"id": user},
                              "event_name": "user_received_message", "message": {"msg_id": "m1"}, "timestamp": "2"})
    assert echo.is_oa_echo and receipt.is_receipt
    assert echo.user() == receipt.user() == user
    assert echo.oa_candidates()[0] == receipt.oa_candidates()[0] == oa
    assert echo.event_key() != receipt.event_key()


def test_events_without_msg_id_are_keyed_by_name_time_and_subject():
    follow = events.convert({"oa_id": "9", "follower": {"id": 8000000000000000001}, "event_name": "follow",
                             "app_id": APP_ID, "source": "oa_profile", "timestamp": "1763900000000"})
    assert follow.user() == "8000000000000000001"  # a bare number still becomes a string
    assert follow.event_key() == "follow:1763900000000:8000000000000000001"
    chatnow = events.convert({"oa_id": "9", "user_id": "77", "event_name": "user_click_chatnow", "timestamp": "5"})
    assert chatnow.user() == "77" and chatnow.oa_candidates() == ["9"]
    zns = events.convert({"event_name": "user_received_message", "sender": {"id": "9"}, "recipient": {"id": "84912345678"},
                          "message": {"msg_id": "z1", "tracking_id": "ca-mau-1", "delivery_time": "3"}, "timestamp": "4"})
    assert zns.user() is None and zns.oa_candidates()[0] == "9"


def test_shared_info_in_both_shapes():
    current = {"name": "Nguyễn Văn A", "phone": "0912345678", "user_dob": "01/01/1990",
               "full_address": {"user_city": "Cà Mau", "user_ward": "Phường An Xuyên", "user_address": "12 Lý Thường Kiệt"}}
    legacy = {"address": "12 Lý Thường Kiệt", "phone": "84912345678", "city": "Cà Mau", "district": "", "name": "B",
              "ward": "Phường An Xuyên"}
    assert events.submitted_info(current) == {"name": "Nguyễn Văn A", "phone": "0912345678",
                                              "address": "12 Lý Thường Kiệt, Phường An Xuyên, Cà Mau"}
    assert events.submitted_info(legacy)["address"] == "12 Lý Thường Kiệt, Phường An Xuyên, Cà Mau"
    assert events.submitted_info(None) == {}


@pytest.mark.parametrize(("code", "error"), [
    (-216, TokenExpired), (-220, TokenExpired), (-124, TokenExpired),
    (-230, WindowClosed), (-232, WindowClosed), (-213, WindowClosed),
    (-32, RateLimited), (-211, QuotaExceeded), (-144, QuotaExceeded), (-115, QuotaExceeded),
    (-214, Transient), (-201, Rejected), (-240, Rejected), (-108, Rejected),
])
def test_zalo_error_codes_map_to_what_the_sender_does(code, error):
    with pytest.raises(error) as info:
        check({"error": code, "message": "x"})
    assert info.value.code == code


def test_success_and_non_envelopes():
    assert check({"error": 0, "message": "Success", "data": {"message_id": "m"}}) == {"message_id": "m"}
    with pytest.raises(Transient):
        check("<html>bad gateway</html>")
    with pytest.raises(Transient):
        check({"data": {}})


def test_text_is_nfc_and_cut_kindly_at_zalos_limit():
    decomposed = unicodedata.normalize("NFD", "Hồ sơ của ông bà đã được tiếp nhận. ")
    long = decomposed * 80  # NFD is longer than the limit, NFC too
    out = fit_text(long)
    assert len(out) <= CS_TEXT_LIMIT and out.endswith("…")
    assert unicodedata.is_normalized("NFC", out)
    short = unicodedata.normalize("NFD", "Xin chào")
    assert fit_text(short) == "Xin chào" and len(fit_text(short)) == 8


def test_buttons_use_zalo_actions():
    msg = text_message("Chọn", [Button("Xem", url="https://x.vn/a"), Button("Tra cứu", query="#tracuu"),
                                Button.of({"title": "Gọi", "phone": "84912345678"})])
    kinds = [b["type"] for b in msg["attachment"]["payload"]["buttons"]]
    assert kinds == ["oa.open.url", "oa.query.show", "oa.open.phone"]
    assert msg["attachment"]["payload"]["buttons"][1]["payload"] == "#tracuu"


def test_pkce_matches_rfc_7636_and_is_fresh_each_time():
    assert challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    (v1, c1), (v2, _) = pkce_pair(), pkce_pair()
    assert len(v1) == 43 and v1 != v2 and c1 == challenge_for(v1)


def test_tracking_ids_are_deterministic_short_and_plain():
    assert tracking_id("ca-mau", 42) == tracking_id("ca-mau", 42) != tracking_id("ca-mau", 43)
    long = tracking_id("a-very-long-province-slug-that-goes-on-and-on-forever", 123456789)
    assert len(long) <= 48 and long.endswith("-123456789")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", long)
