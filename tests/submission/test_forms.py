"""Form rules and the chat's understanding of "nộp hồ sơ ...", without a server."""

from __future__ import annotations

import time

import pytest

from motcua.crypto import Crypto
from motcua.domain.submissions import forms
from motcua.domain.submissions.links import form_token, verify_form_token
from motcua.onestop.records import FormField, Paper, Procedure
from motcua.submission.chat import _INTENT, fold, match_procedures

PROCS = [Procedure(code="1.001193", name="Đăng ký khai sinh", online=True),
         Procedure(code="1.000894", name="Đăng ký kết hôn", online=True),
         Procedure(code="1.009994", name="Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ", online=False)]


@pytest.mark.parametrize("typed, expected", [
    ("Nộp hồ sơ khai sinh", ["1.001193"]),
    ("nop ho so  KHAI SINH", ["1.001193"]),
    ("tôi muốn nộp hồ sơ trực tuyến đăng ký kết hôn", ["1.000894"]),
    ("nộp hồ sơ 1.001193", ["1.001193"]),
    ("nộp hồ sơ xây dựng", []),  # not offered online
    ("nộp hồ sơ", ["1.001193", "1.000894"]),
])
def test_chat_understands_what_citizens_type(typed, expected):
    m = _INTENT.match(fold(typed))
    assert m is not None
    assert [p.code for p in match_procedures(PROCS, m.group(1))] == expected


def test_other_sentences_are_left_to_the_bot():
    assert _INTENT.match(fold("hồ sơ của tôi")) is None
    assert _INTENT.match(fold("000.00.07.H12-251119-0001")) is None


DEFN = forms.definition_from_procedure(Procedure(
    code="X", name="X", online=True, papers=[Paper(code="TP1", name="Tờ khai"), Paper(code="TP2", name="Ảnh", required=False)],
    form=[FormField(name="ngay sinh!", label="Ngày sinh", type="date"),
          FormField(name="ghi_chu", label="Ghi chú", type="textarea", required=False)]))


def test_applicant_fields_come_first_and_names_are_safe():
    assert [f.name for f in DEFN.fields] == ["applicant_name", "applicant_phone", "applicant_id_number", "ngay_sinh",
                                             "ghi_chu"]


def test_validation_cleans_and_explains():
    clean, errors = forms.validate(DEFN, {"applicant_name": "  Le\u0302 Thị Hạnh ", "applicant_phone": "+84 912.345.678",
                                          "applicant_id_number": "0961 2345 6789", "ngay_sinh": "20/11/2025"})
    assert errors == {}
    assert clean["applicant_phone"] == "0912345678" and clean["applicant_id_number"] == "096123456789"
    assert clean["ngay_sinh"] == "2025-11-20" and clean["applicant_name"] == "Lê Thị Hạnh"  # NFC
    _, errors = forms.validate(DEFN, {"applicant_phone": "1900 1234", "ngay_sinh": "31/02/2025"})
    assert errors == {"applicant_name": "Vui lòng nhập họ và tên người nộp.",
                      "applicant_phone": "Số điện thoại chưa đúng (10 chữ số, ví dụ 0912 345 678).",
                      "applicant_id_number": "Vui lòng nhập số định danh cá nhân (CCCD).",
                      "ngay_sinh": "Ngày chưa đúng. Vui lòng nhập theo dạng ngày/tháng/năm."}
    # Saving a draft only complains about what was typed.
    _, errors = forms.validate(DEFN, {"applicant_phone": "12"}, partial=True)
    assert list(errors) == ["applicant_phone"]
    assert forms.paper_errors(DEFN, {"TP2": 1}) == {"TP1": "Vui lòng đính kèm ảnh chụp: Tờ khai."}


def test_form_link_token_binds_everything_and_expires():
    crypto = Crypto(b"k" * 32)
    token = form_token(crypto, "ca-mau", "1.001193", 7)
    assert verify_form_token(crypto, "ca-mau", "1.001193", 7, token) == "ok"
    assert verify_form_token(crypto, "ca-mau", "1.001193", 8, token) == "invalid"
    assert verify_form_token(crypto, "an-giang", "1.001193", 7, token) == "invalid"
    assert verify_form_token(crypto, "ca-mau", "1.000894", 7, token) == "invalid"
    assert verify_form_token(crypto, "ca-mau", "1.001193", 7, token, now=time.time() + 8 * 86400) == "expired"
    exp, sig = token.split(".")
    forged = f"{int(exp, 16) + 86400:x}.{sig}"  # stretching the expiry breaks the signature
    assert verify_form_token(crypto, "ca-mau", "1.001193", 7, forged) == "invalid"


def test_the_submission_plugin_is_installed(settings):
    """Loaded like any plug-in: its routes, jobs and chat handler come through the hooks."""
    from motcua.channels.zalo.dispatch import ChatRegistry
    from motcua.jobs.registry import JobRegistry
    from motcua.plugins import BUILTIN_PLUGINS, RouteRegistry, get_plugin_manager
    from motcua.submission.chat import handle

    assert "motcua.submission.builtin" in BUILTIN_PLUGINS
    pm = get_plugin_manager()
    routes = RouteRegistry(settings)
    pm.hook.motcua_register_routes(registry=routes)
    paths = {p for h in routes for p in getattr(h, "paths", ())}
    assert {"/t/{tenant:str}/nop/{code:str}", "/t/{tenant:str}/nop/{code:str}/buu-dien"} <= paths
    jobs = JobRegistry()
    pm.hook.motcua_register_jobs(registry=jobs)
    assert jobs.get("submissions.send") and jobs.get("postal.send")
    chat = ChatRegistry()
    pm.hook.motcua_register_chat(registry=chat)
    assert chat.handlers[0] is handle  # before the general bot, which answers every text
