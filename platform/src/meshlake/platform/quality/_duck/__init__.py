"""A port's quality checks on DuckDB, for products the DuckDB engine publishes.

The same rules, counts, verdicts, quarantine, drift and profile as the Spark checks
(``quality/_engine.py``), computed by DuckDB over the port's Arrow rows; no Spark anywhere.
"""

from meshlake.platform.quality._duck._check import DuckCheck, check_arrow

__all__ = ["DuckCheck", "check_arrow"]
