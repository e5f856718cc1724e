"""Governed SQL: check a consumer's query against its grants, rewrite it, and run it locked.

DuckDB's own hardening leaves ``query()``, catalog introspection, SUMMARIZE/PIVOT and runaway
recursion open, so the query is first parsed and allowlisted with sqlglot (``check``), then run on a
fresh, locked in-memory connection that only ever holds already-filtered, already-masked Arrow
tables (``run``). A mask or filter therefore applies to every reference, whatever the query shape.
"""

from meshlake.governance.services._sql._check import check as check
from meshlake.governance.services._sql._errors import LimitExceeded as LimitExceeded
from meshlake.governance.services._sql._errors import QueryRefused as QueryRefused
from meshlake.governance.services._sql._errors import StatementRefused as StatementRefused
from meshlake.governance.services._sql._errors import TableRefused as TableRefused
from meshlake.governance.services._sql._model import CheckedQuery as CheckedQuery
from meshlake.governance.services._sql._model import QueryLimits as QueryLimits
from meshlake.governance.services._sql._model import TableGrant as TableGrant
from meshlake.governance.services._sql._run import filtered as filtered
from meshlake.governance.services._sql._run import run as run
