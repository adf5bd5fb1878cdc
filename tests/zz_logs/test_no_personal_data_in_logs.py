"""Runs after every other test of the session (``pytest_collection_modifyitems`` in conftest
moves it last) and reads every log line the session wrote, in the production JSON format,
including the logs of the servers and workers the fault suite ran as subprocesses.

No line may hold a Vietnamese mobile number, a 12-digit citizen ID (CCCD), or any secret or
token the session knows: tenant secrets, the master key, the simulator's OA keys and tokens.
"""

from __future__ import annotations

import json
import logging
import re

PHONE = re.compile(r"(?<![\d.])(?:\+?84|0)(?:3|5|7|8|9)\d{8}(?![\d.])")
CCCD = re.compile(r"(?<![\d.])\d{12}(?![\d.])")


def _known_secrets(request, tenant_secrets: dict[str, str], master_key: str) -> set[str]:
    found = set(tenant_secrets.values()) | {master_key}
    try:  # the simulator's tokens, if the session started the app
        runtime = request.getfixturevalue("runtime")
    except Exception:  # noqa: BLE001 - no runtime in this session: nothing more to know
        return found
    sim = runtime.state.get("sim")
    if sim is not None:
        found |= set(getattr(sim, "access", {})) | set(getattr(sim, "refresh", {}))
        found |= set(getattr(sim, "spent_refresh", {})) | set(getattr(sim, "phone_tokens", {}))
        for oa in getattr(sim, "oas", {}).values():
            found |= {v for v in (oa.secret_key, oa.app_secret) if v}
            if oa.current:
                found |= {oa.current.access_token, oa.current.refresh_token}
    return {s for s in found if s and len(s) >= 12}  # short values would match by chance


def test_the_session_log_scan_is_live(session_log):
    """The capture works and masks: a phone, an ID number and a token logged here come out masked."""
    logging.getLogger("motcua.tests").warning(
        "citizen 0912345678 sent id 079203001234 with access_token=abcDEF123456789xyz")
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = session_log.read_text(encoding="utf-8").splitlines()
    mine = [json.loads(line) for line in lines if '"motcua.tests"' in line]
    assert mine, "the session's log file did not receive a record logged through the root logger"
    text = mine[-1]["msg"]
    assert "0912345678" not in text and "<phone>" in text
    assert "079203001234" not in text and "<id-number>" in text
    assert "abcDEF123456789xyz" not in text


def test_no_personal_data_or_secrets_in_the_session_logs(request, session_log, tenant_secrets, master_key):
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = session_log.read_text(encoding="utf-8", errors="replace").splitlines()
    secrets = _known_secrets(request, tenant_secrets, master_key)
    problems: list[str] = []
    for n, line in enumerate(lines, 1):
        if '"motcua.tests"' in line:  # the canary above, which logs fake values on purpose
            continue
        for label, pattern in (("phone number", PHONE), ("ID number", CCCD)):
            if m := pattern.search(line):
                problems.append(f"line {n}: {label} {m.group()!r}: {line[:200]}")
        for value in secrets:
            if value in line:
                problems.append(f"line {n}: a secret or token ({value[:4]}…): {line[:120]}")
    ran = len(request.session.items)
    with_tests_before = ran > 2
    print(f"\nscanned {len(lines)} log lines from {ran} tests against {len(secrets)} known secrets")
    if with_tests_before:
        assert len(lines) > 1, "a whole session ran but logged nothing: is the capture attached?"
    assert not problems, "personal data or secrets in the logs:\n" + "\n".join(problems[:20])
