"""What `meshlake ui` and `meshlake daemon` hand to the Dagster processes they start.

The code locations, and the runs the daemon launches beside them, find the project, the state
folder and the governance service in their environment; nothing else reaches them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from meshlake.orchestration._ui_process import dagster_command
from meshlake.platform import Settings

AUTOMATION_VARIABLE = "MESHLAKE_DAGSTER_AUTOMATION"


def child_environment(
    settings: Settings, governed_settings: Settings, home: Path, **extra: str
) -> dict[str, str]:
    """This process's environment, with the instance folder (DAGSTER_HOME), the project, the
    state folder and the governance service (URL and tokens) the children publish through."""
    token = governed_settings.governance_token
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "MESHLAKE_PROJECT": str(settings.project_root()),
        "MESHLAKE_HOME": str(settings.state_home()),
        "MESHLAKE_GOVERNANCE_URL": str(governed_settings.governance_url),
        "MESHLAKE_GOVERNANCE_TOKEN": token.get_secret_value() if token else "",
        "MESHLAKE_GOVERNANCE_TOKENS": json.dumps(
            {
                zone: secret.get_secret_value()
                for zone, secret in governed_settings.governance_tokens.items()
            }
        ),
        **extra,
    }


def daemon_command(workspace: Path, ui_port: int | None = None) -> list[str]:
    """Dagster's daemon over ``workspace`` (``dagster-daemon run``); with ``ui_port``, `dagster
    dev`, which runs the same daemon and the web UI on 127.0.0.1."""
    if ui_port is not None:
        return dagster_command("dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(ui_port))
    # dagster-daemon's own entry point, through this interpreter (PATH may not hold it).
    return [sys.executable, "-m", "dagster._daemon", "run", "-w", str(workspace)]
