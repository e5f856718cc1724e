"""The platform's errors: one root, and subclasses that carry where the problem is."""

from __future__ import annotations


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
