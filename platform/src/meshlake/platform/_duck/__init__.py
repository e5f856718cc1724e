"""The DuckDB engine for small SQL products: the same contracts, checks, commits and Delta tables
as the Spark engine, without a JVM. Imports no pyspark (a test holds it)."""

from meshlake.platform._duck._choice import EngineChoice as EngineChoice
from meshlake.platform._duck._choice import choose_engine as choose_engine
from meshlake.platform._duck._choice import duckdb_refusal as duckdb_refusal
from meshlake.platform._duck._engines import Engines as Engines
from meshlake.platform._duck._materializer import DuckMaterializer as DuckMaterializer
from meshlake.platform._duck._transpile import Untranspilable as Untranspilable
from meshlake.platform._duck._transpile import transpile as transpile
