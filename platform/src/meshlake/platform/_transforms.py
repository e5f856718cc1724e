"""Run a product's transform: Spark SQL over its input ports, or a Python ``transform`` function."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from meshlake.platform._errors import MaterializationError, spark_error_summary
from meshlake.platform._loading import load_module
from meshlake.platform.specs import ProductSpec


@dataclass(frozen=True)
class TransformContext:
    """What a Python transform may use besides its inputs."""

    spark: SparkSession
    product: ProductSpec
    run_id: str
    params: dict[str, Any] = field(default_factory=dict)


TransformResult = DataFrame | dict[str, DataFrame]


def run_transform(
    file: Path, inputs: dict[str, DataFrame], context: TransformContext
) -> TransformResult:
    """What ``file`` produces: one DataFrame, or one per output port (lazy until written)."""
    product = str(context.product.ref)
    if file.suffix == ".sql":
        for name, frame in inputs.items():
            frame.createOrReplaceTempView(name)
        try:
            return context.spark.sql(file.read_text(encoding="utf-8"))
        except Exception as exc:
            raise MaterializationError(product, f"{file.name}: {spark_error_summary(exc)}") from exc
    module = load_module(file, f"meshlake_transforms.{product}")
    function = getattr(module, "transform", None)
    if not callable(function):
        raise MaterializationError(
            product, f"{file.name} defines no transform(inputs, ctx) function"
        )
    try:
        result = function(inputs, context)
    except Exception as exc:
        raise MaterializationError(
            product, f"{file.name}: {type(exc).__name__}: {spark_error_summary(exc)}"
        ) from exc
    return result


def frame_for_port(result: TransformResult, file: Path, product: str, port: str) -> DataFrame:
    """The DataFrame for ``port`` out of what a transform returned."""
    if isinstance(result, dict):
        if port not in result:
            returned = ", ".join(map(str, result)) or "nothing"
            raise MaterializationError(
                product,
                f"{file.name} returned no DataFrame for port {port!r} (it returned {returned})",
            )
        result = result[port]
    if not isinstance(result, DataFrame):
        raise MaterializationError(
            product, f"{file.name}: transform returned {type(result).__name__}, not a DataFrame"
        )
    return result
