"""Find the Helm binary that renders the chart: MESHLAKE_HELM, then the tools cache that `.ci/run`
fills (built from the Go module proxy with `go install`), then PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

HELM_MODULE = "helm.sh/helm/v3/cmd/helm"
HELM_VERSION = "v3.19.0"


def tools_cache() -> Path:
    """Where `.ci/run` puts the tools it builds; kept between runs of one machine."""
    configured = os.environ.get("MESHLAKE_TOOLS_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "meshlake" / "tools"


def cached_helm() -> Path:
    return tools_cache() / f"helm-{HELM_VERSION}" / "helm"


def find_helm() -> str | None:
    configured = os.environ.get("MESHLAKE_HELM")
    if configured:
        return configured
    if cached_helm().is_file():
        return str(cached_helm())
    return shutil.which("helm")


def build_helm() -> str:
    """Build Helm into the tools cache with the Go toolchain (a few minutes, once per machine)."""
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if go is None:
        raise FileNotFoundError(
            "helm is not installed and no Go toolchain is on PATH to build it: install Go (1.24+) and "
            f"run `GOBIN={cached_helm().parent} go install {HELM_MODULE}@{HELM_VERSION}`, or set MESHLAKE_HELM"
        )
    target = cached_helm()
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [go, "install", f"{HELM_MODULE}@{HELM_VERSION}"],
        env={**os.environ, "GOBIN": str(target.parent)},
        check=True,
        timeout=1200,
    )
    return str(target)
