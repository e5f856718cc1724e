"""The lineage part's one error: lineage that cannot be derived or stated as asked."""

from __future__ import annotations

from meshlake.platform._errors import MeshlakeError


class LineageError(MeshlakeError):
    """Column lineage cannot be derived, or an event cannot be stated as asked.

    ``table`` and ``column`` name what was not found (either may be None); ``line`` is the SQL line
    where it was located, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        table: str | None = None,
        column: str | None = None,
        line: int | None = None,
    ) -> None:
        self.table = table
        self.column = column
        self.line = line
        super().__init__(message)
