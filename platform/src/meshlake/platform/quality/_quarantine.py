"""What a quarantine rule may set aside, and how the rows set aside are kept.

A quarantine rule publishes the rows it accepts and sets the others aside, in the port's quarantine
table. Past a limit it blocks instead: ``quarantineMaxPercent`` in the rule's ``customProperties``
(the largest share of rows it may set aside), or by default when the rules would set aside every
row, so that an overwrite never publishes an empty table by accident.

The quarantine table is read by whoever debugs the port, not by its consumers under their
agreements: its classified columns are masked as failing samples are (``_mask.py``), as text.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from meshlake.platform.quality._results import RuleResult
from meshlake.platform.quality._rules import QUARANTINE_LIMIT_PROPERTY

# pyspark is imported where it is used: the DuckDB checks share the quarantine limit.
if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def with_quarantine_limit(result: RuleResult, rows: int, rejected: int) -> RuleResult:
    """``result`` of a quarantine rule, blocking when the rows it sets aside pass its limit.

    ``rows`` is how many rows were checked, ``rejected`` how many all quarantine rules set aside."""
    count = result.quarantined_rows
    if not count or not rows:
        return result
    limit = result.rule.quarantine_max_percent
    percent = 100.0 * count / rows
    if limit is None:
        if rejected < rows:
            return result
        reason = (
            f"would quarantine every row ({count} of {rows} by this rule), leaving nothing to "
            f"publish; fix the rows, or allow it with customProperties "
            f"{QUARANTINE_LIMIT_PROPERTY}: 100"
        )
    elif percent > limit:
        reason = (
            f"would quarantine {count} of {rows} rows ({percent:.4g} %), more than its "
            f"{QUARANTINE_LIMIT_PROPERTY} {limit:g}"
        )
    else:
        return result
    return dataclasses.replace(result, quarantine_blocked=reason)


def masked_column(frame: DataFrame, name: str) -> Column:
    """Column ``name`` of ``frame`` masked as ``_mask.mask`` masks one value, as text; null stays
    null (it reveals nothing)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    column = F.col(f"`{name}`")
    if not isinstance(frame.schema[name].dataType, StringType):
        return F.when(column.isNotNull(), F.lit("***")).alias(name)
    first = F.substring(column, 1, 1)
    return (
        F.when(column.isNull(), F.lit(None).cast("string"))
        .when(F.length(column) < 2, F.lit("***"))
        .when(F.instr(column, "@") > 0, F.concat(first, F.lit("***@***")))
        .otherwise(F.concat(first, F.lit("***")))
        .alias(name)
    )
