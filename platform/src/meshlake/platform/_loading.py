"""Load user code by path: transforms and raw-data generators live beside the specs, not in a package."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from meshlake.platform._errors import MeshlakeError


def load_module(file: Path, name: str) -> ModuleType:
    """Import ``file`` as module ``name`` (re-imported each call, so edits take effect)."""
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise MeshlakeError(f"{file}: cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise MeshlakeError(f"{file}: failed to import: {type(exc).__name__}: {exc}") from exc
    return module
