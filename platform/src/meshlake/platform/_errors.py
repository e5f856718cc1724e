"""The platform's errors: one root, and subclasses that carry where the problem is."""

from __future__ import annotations

import re

_ERROR_CLASS = re.compile(
    r"\[([A-Z][A-Z0-9_]*(?:\.[A-Z0-9_]+)*)\]\s*(.*?)(?:\s*SQLSTATE: \w+)?\s*$"
)


class MeshlakeError(Exception):
    """Root of every error meshlake raises on purpose; its message says what to do."""


class ConfigurationError(MeshlakeError):
    """The environment or a setting is unusable (no Java, unreachable jars, bad MESHLAKE_ variable)."""


class ConformanceError(MeshlakeError):
    """A transform's result does not match its contract; nothing was written."""

    def __init__(self, product: str, port: str, problems: list[str]) -> None:
        self.product = product
        self.port = port
        self.problems = problems
        listed = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            f"{product}: output port {port!r} does not conform to its contract "
            f"(nothing was written):\n{listed}"
        )


class MaterializationError(MeshlakeError):
    """A product could not be materialized; the previous Delta version is untouched."""

    def __init__(self, product: str, message: str) -> None:
        self.product = product
        super().__init__(f"{product}: {message}")


def spark_error_summary(exc: BaseException) -> str:
    """The line of a Spark/JVM error that a user can act on.

    JVM errors reach Python wrapped (``An error occurred while calling o198.save.`` and a stack trace);
    the useful part is the innermost ``[ERROR_CLASS] message``.
    """
    text = str(exc)
    found = [match for line in text.splitlines() if (match := _ERROR_CLASS.search(line.strip()))]
    if found:
        error_class, message = found[-1].group(1), found[-1].group(2)
        return f"[{error_class}] {message}".strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    meaningful = [line for line in lines if not line.startswith(("An error occurred", "at ", ": "))]
    return (meaningful or lines or [type(exc).__name__])[0]
