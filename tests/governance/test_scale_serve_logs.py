"""`meshlake governance serve` logs: text by default, one JSON object per line when asked.

The service runs as users start it (a subprocess); its stderr is parsed line by line.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.governance._serve_process import environment, run_serve, serving

pytestmark = pytest.mark.integration

TOKEN = "mlk_scale_logs_token"


@pytest.mark.parametrize("asked_by", ["--log-format", "MESHLAKE_LOG_FORMAT"])
def test_json_logs_carry_one_access_line_per_request(tmp_path: Path, asked_by: str) -> None:
    url = f"sqlite:///{tmp_path / 'governance.db'}"
    if asked_by == "--log-format":
        env, options = environment(url, TOKEN), ["--log-format", "json"]
    else:
        env, options = environment(url, TOKEN, MESHLAKE_LOG_FORMAT="json"), []
    admin = {"Authorization": f"Bearer {TOKEN}"}
    with serving(tmp_path, env, *options) as served:
        audit = httpx.get(
            f"{served.url}/api/v1/audit",
            headers={**admin, "X-Request-ID": "req-json-1"},
            timeout=30,
        )
        missing = httpx.get(f"{served.url}/api/v1/principals/nobody", headers=admin, timeout=30)
        anonymous = httpx.get(f"{served.url}/api/v1/audit", timeout=30)
    assert audit.status_code == 200 and audit.headers["x-request-id"] == "req-json-1"
    assert missing.status_code == 404 and anonymous.status_code == 401
    lines = served.json_lines()  # every line, start-up and shut-down included, is JSON

    for line in lines:
        assert {"time", "level", "logger", "message", "pid"} <= set(line), line
        datetime.fromisoformat(line["time"].replace("Z", "+00:00"))
    access = {line.get("request_id"): line for line in lines if "route" in line}
    first = access["req-json-1"]
    assert first["route"] == "/api/v1/audit" and first["method"] == "GET"
    assert first["status"] == 200 and first["level"] == "INFO"
    assert first["duration_ms"] > 0
    assert first["principal"] == "bootstrap-admin"
    assert first["logger"] == "meshlake.governance.access"
    second = access[missing.headers["x-request-id"]]
    assert second["route"] == "/api/v1/principals/{name}" and second["status"] == 404
    assert second["path"] == "/api/v1/principals/nobody"
    third = access[anonymous.headers["x-request-id"]]
    assert third["status"] == 401 and "principal" not in third  # nobody was authenticated
    assert any("Application startup complete" in line["message"] for line in lines)


def test_text_logs_stay_the_quiet_default(tmp_path: Path) -> None:
    env = environment(f"sqlite:///{tmp_path / 'governance.db'}", TOKEN)
    with serving(tmp_path, env) as served:
        headers = {"Authorization": f"Bearer {TOKEN}", "X-Request-ID": "req-text-1"}
        assert httpx.get(f"{served.url}/api/v1/audit", headers=headers, timeout=30).is_success
    lines = served.lines()
    assert not any(line.startswith("{") for line in lines), lines
    assert not any("req-text-1" in line or "/api/v1/audit" in line for line in lines), lines
    assert any("governance service on http://127.0.0.1" in line for line in lines), lines


def test_an_unknown_log_format_is_refused_naming_the_option(tmp_path: Path) -> None:
    env = environment(f"sqlite:///{tmp_path / 'governance.db'}", TOKEN)
    refused = run_serve(env, "--log-format", "xml")
    assert refused.returncode == 1, refused.stderr
    assert "--log-format" in refused.stderr and "text or json" in refused.stderr
    assert not (tmp_path / "governance.db").exists()  # refused before touching the database
