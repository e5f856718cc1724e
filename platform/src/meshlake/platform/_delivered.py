"""An input read as its sharing agreement delivers it, so the transform never sees what the
agreement leaves out:

- columns the agreement does not deliver are dropped;
- a masked string column holds the SHA-256 of its value (stable, so it still joins and counts);
  a masked column of another type is null: a hash would not fit its type;
- the row scope keeps the rows whose values are among the allowed ones, for every scoped column.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from meshlake.platform._errors import MeshlakeError
from meshlake.platform._sharing import ReadTerms


def apply_terms(frame: DataFrame, terms: ReadTerms) -> DataFrame:
    """``frame`` as the agreement delivers it: scoped rows, its columns only, masks applied."""
    missing = sorted(set(terms.rows) - set(frame.columns))
    if missing:
        raise MeshlakeError(
            f"agreement {terms.agreement} scopes the rows of {terms.port} by "
            f"{', '.join(missing)}, which the table does not have"
        )
    for column, values in terms.rows.items():
        frame = frame.where(F.col(column).isin(list(values)))
    types = dict(frame.dtypes)
    delivered = [name for name in frame.columns if name in set(terms.columns)]
    return frame.select(
        *[_masked(name, types[name]) if name in terms.masked else F.col(name) for name in delivered]
    )


def _masked(name: str, spark_type: str) -> Column:
    if spark_type == "string":
        return F.sha2(F.col(name), 256).alias(name)
    return F.lit(None).cast(spark_type).alias(name)
