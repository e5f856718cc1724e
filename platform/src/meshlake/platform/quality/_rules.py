"""Compile an output port's contract into its rules, or into the problems that stop them.

Pure and fast (no Spark, no Great Expectations, sqlglot only for ``type: sql`` rules), because the
Dagster definitions call it for every port to declare one asset check per rule, and ``meshlake
validate`` calls it for every contract.

What becomes a rule:

- ODCS library metrics (``schema[0].quality`` or a property's ``quality``): ``nullValues``,
  ``missingValues`` (``arguments.missingValues``, default ``[null, ""]``), ``invalidValues``
  (``arguments.validValues`` or ``arguments.pattern``), ``duplicateValues`` (a property's, or the
  schema's with ``arguments.properties``) and ``rowCount`` (schema level), each with one operator
  and ``unit: rows`` (default) or ``percent`` of the rows.
- Property constraints: ``unique``, ``primaryKey`` (one rule over all key columns),
  ``logicalTypeOptions`` ``minimum``/``maximum`` (one ``range`` rule), ``pattern``, and
  ``minLength``/``maxLength`` (one ``length`` rule); each allows no failing row, severity error.
- ``type: sql`` rules: see ``_sql.py`` for how the query names the port's rows.

Each library metric is built in ``_metrics.py``; ``_compiled.py`` holds what compiling yields.

``required`` is not a separate rule: the conforming projection already fails the run on a missing
required value during the one pass that materializes the checked rows, at no extra cost.

A rule's ``severity`` is ``error`` (default) or ``warning`` (``info`` counts as warning). A row-level
rule (nullValues, missingValues, invalidValues) quarantines its failing rows instead of blocking
when its ``customProperties`` hold ``{property: quarantine, value: true}``, up to a limit:
``{property: quarantineMaxPercent, value: 5}`` blocks when it would set aside more than 5 % of the
rows; without it, a quarantine blocks when it would set aside every row (``_quarantine.py``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from meshlake.platform._ids import PortRef
from meshlake.platform.quality._compiled import CompiledContract, CompiledRule, Path_, RuleProblem
from meshlake.platform.quality._metrics import BUILDERS, LibraryRule, regex_problem
from meshlake.platform.quality._results import NotEvaluated, RuleSpec, Severity
from meshlake.platform.quality._thresholds import (
    RANGE_OPERATORS,
    UNITS,
    Threshold,
    threshold_from_rule,
)
from meshlake.platform.specs._models import Contract, QualityRule, SchemaProperty
from meshlake.platform.specs._yaml import LocatedYaml, load_located_yaml

METRICS = ("nullValues", "missingValues", "invalidValues", "duplicateValues", "rowCount")
COLUMN_METRICS = ("nullValues", "missingValues", "invalidValues")
QUARANTINE_PROPERTY = "quarantine"
ENGINES = ("meshlake", "spark")
"""A library or sql rule naming another ``engine`` is another tool's: not evaluated here."""
QUARANTINE_LIMIT_PROPERTY = "quarantineMaxPercent"
NUMERIC_TYPES = ("number", "integer")
ORDERED_TYPES = ("number", "integer", "date", "timestamp")
# Names Dagster refuses for checks (they clash with its own keywords).
_RESERVED = {"context", "conf", "config", "meta", "arg_dict", "dict", "input_arg_dict"}
_RESERVED |= {"output_arg_dict", "int", "str", "float", "bool", "input", "output", "type"}


def port_rules(port: Any) -> list[RuleSpec]:
    """The rules of an output port (a ``PortSpec``), in a stable order with unique check names."""
    return [rule.spec for rule in compiled_rules(port)]


def compiled_rules(port: Any) -> list[CompiledRule]:
    """The port's rules ready to run; the specs loader has already rejected unfit rules."""
    return compile_port(port).rules


def not_evaluated_rules(port: Any) -> list[NotEvaluated]:
    """The rules of an output port (a ``PortSpec``) that meshlake cannot run, to report as such."""
    return compile_port(port).not_evaluated


def compile_port(port: Any) -> CompiledContract:
    """Everything compiled from a port's contract (``compiled_rules`` keeps only the rules): what
    the loader compiled when it has (``PortSpec.compiled``), else compiled from the file now."""
    kept = getattr(port, "compiled", None)
    if kept is not None and kept[0] is port.contract:
        return kept[1]
    located = _located(port.contract_file)
    return contract_rules(port.contract, port.ref, port.contract_file.name, located)


def compile_contract(
    contract: Contract, ref: PortRef, file_label: str, located: LocatedYaml | None = None
) -> tuple[list[CompiledRule], list[RuleProblem]]:
    """Every rule of ``contract`` and every problem that stops one; never raises for bad rules."""
    compiled = contract_rules(contract, ref, file_label, located)
    return compiled.rules, compiled.problems


def contract_rules(
    contract: Contract, ref: PortRef, file_label: str, located: LocatedYaml | None = None
) -> CompiledContract:
    """The rules of ``contract``, the problems that stop some, and the rules meshlake cannot run."""
    return _Compiler(contract, ref, file_label, located).run()


def _located(file: Path) -> LocatedYaml | None:
    try:
        return load_located_yaml(file)
    except Exception:
        return None


class _Compiler:
    def __init__(
        self, contract: Contract, ref: PortRef, file_label: str, located: LocatedYaml | None
    ) -> None:
        self.contract = contract
        self.ref = ref
        self.file_label = file_label
        self.located = located
        self.columns = {prop.name: prop for prop in contract.columns}
        self.rules: list[CompiledRule] = []
        self.problems: list[RuleProblem] = []
        self.not_evaluated: list[NotEvaluated] = []
        self.explicit_names: dict[str, Path_] = {}

    def run(self) -> CompiledContract:
        table = self.contract.table
        for index, prop in enumerate(table.properties):
            base: Path_ = ("schema", self.contract.table_index, "properties", index)
            before = len(self.problems)
            self.constraints(prop, base)
            self.problems[before:] = [
                RuleProblem(problem.path, f"column {prop.name!r}: {problem.message}")
                for problem in self.problems[before:]
            ]
            for number, rule in enumerate(prop.quality):
                self.quality_rule(rule, (*base, "quality", number), prop)
        self.primary_key()
        for number, rule in enumerate(table.quality):
            self.quality_rule(rule, ("schema", self.contract.table_index, "quality", number), None)
        return CompiledContract(self.rules, self.problems, self.not_evaluated)

    # -- naming and reporting ----------------------------------------------------------------

    def problem(self, path: Path_, message: str) -> None:
        self.problems.append(RuleProblem(path, message))

    def source(self, path: Path_) -> str:
        line = self.located.line_of(path) if self.located is not None else 1
        return f"{self.file_label}:{line}"

    def unique_name(self, wanted: str) -> str:
        taken = {rule.spec.name for rule in self.rules}
        taken |= {rule.name for rule in self.not_evaluated}
        name, number = wanted, 2
        while name in taken or name in _RESERVED:
            name = f"{wanted}_{number}"
            number += 1
        return name

    def add(self, rule: CompiledRule) -> None:
        self.rules.append(rule)

    def spec(
        self,
        path: Path_,
        name: str,
        kind: str,
        expectation: str,
        description: str,
        column: str | None,
        severity: Severity = "error",
        quarantine: bool = False,
        quarantine_max_percent: float | None = None,
    ) -> RuleSpec:
        return RuleSpec(
            port=self.ref,
            name=self.unique_name(name),
            description=description,
            kind=kind,
            expectation=expectation,
            column=column,
            severity=severity,
            quarantine=quarantine,
            source=self.source(path),
            quarantine_max_percent=quarantine_max_percent,
        )

    # -- property constraints ----------------------------------------------------------------

    def constraints(self, prop: SchemaProperty, base: Path_) -> None:
        column = prop.name
        single_key = self.contract.primary_key == [column]
        if prop.unique and not single_key:
            self.add(
                CompiledRule(
                    self.spec(
                        (*base, "unique"),
                        f"{column}_unique",
                        "unique",
                        "expect_column_values_to_be_unique",
                        f"{column} values are unique",
                        column,
                    ),
                    kwargs={"column": column},
                )
            )
        options = prop.logical_type_options
        path: Path_ = (*base, "logicalTypeOptions")
        self.range_constraint(prop, options, path)
        if "pattern" in options:
            pattern = options["pattern"]
            problem = regex_problem(pattern)
            if problem:
                self.problem((*path, "pattern"), problem)
            else:
                self.add(
                    CompiledRule(
                        self.spec(
                            (*path, "pattern"),
                            f"{column}_pattern",
                            "pattern",
                            "expect_column_values_to_match_regex",
                            f"{column} matches {pattern}",
                            column,
                        ),
                        kwargs={"column": column, "regex": pattern},
                    )
                )
        if "minLength" in options or "maxLength" in options:
            self.length_constraint(prop, options, path)

    def range_constraint(self, prop: SchemaProperty, options: dict[str, Any], path: Path_) -> None:
        if "minimum" not in options and "maximum" not in options:
            return
        column = prop.name
        if prop.logical_type not in ORDERED_TYPES:
            key = "minimum" if "minimum" in options else "maximum"
            self.problem(
                (*path, key),
                f"{key} fits {', '.join(ORDERED_TYPES)} columns, not {prop.logical_type!r}; "
                "use pattern or minLength/maxLength for text",
            )
            return
        bounds: dict[str, Any] = {}
        for key in ("minimum", "maximum"):
            if key not in options:
                continue
            value = options[key]
            if isinstance(value, datetime | date):
                value = value.isoformat()
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if prop.logical_type in NUMERIC_TYPES and not numeric:
                self.problem((*path, key), f"{key} must be a number, got {value!r}")
                return
            if prop.logical_type not in NUMERIC_TYPES and not isinstance(value, str):
                self.problem((*path, key), f"{key} must be an ISO date or time, got {value!r}")
                return
            bounds[key] = value
        if "minimum" in bounds and "maximum" in bounds and bounds["minimum"] > bounds["maximum"]:
            self.problem((*path, "maximum"), "maximum is smaller than minimum")
            return
        kwargs: dict[str, Any] = {
            "column": column,
            "min_value": bounds.get("minimum"),
            "max_value": bounds.get("maximum"),
            "strict_min": bool(options.get("exclusiveMinimum", False)),
            "strict_max": bool(options.get("exclusiveMaximum", False)),
        }
        self.add(
            CompiledRule(
                self.spec(
                    (*path, "minimum" if "minimum" in bounds else "maximum"),
                    f"{column}_range",
                    "range",
                    "expect_column_values_to_be_between",
                    f"{column} is {_range_text(kwargs)}",
                    column,
                ),
                kwargs=kwargs,
            )
        )

    def length_constraint(self, prop: SchemaProperty, options: dict[str, Any], path: Path_) -> None:
        column = prop.name
        key = "minLength" if "minLength" in options else "maxLength"
        if prop.logical_type not in ("string", None):
            self.problem((*path, key), f"{key} fits string columns, not {prop.logical_type!r}")
            return
        low, high = options.get("minLength"), options.get("maxLength")
        for name, value in (("minLength", low), ("maxLength", high)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                self.problem((*path, name), f"{name} must be a whole number, got {value!r}")
                return
        if low is not None and high is not None and low > high:
            self.problem((*path, "maxLength"), "maxLength is smaller than minLength")
            return
        self.add(
            CompiledRule(
                self.spec(
                    (*path, key),
                    f"{column}_length",
                    "length",
                    "expect_column_value_lengths_to_be_between",
                    f"{column} has {low if low is not None else 0} to "
                    f"{high if high is not None else 'any'} characters",
                    column,
                ),
                kwargs={"column": column, "min_value": low, "max_value": high},
            )
        )

    def primary_key(self) -> None:
        key = self.contract.primary_key
        if not key:
            return
        index = next(i for i, prop in enumerate(self.contract.columns) if prop.name == key[0])
        path: Path_ = ("schema", self.contract.table_index, "properties", index, "primaryKey")
        single = len(key) == 1
        self.add(
            CompiledRule(
                self.spec(
                    path,
                    f"{self.contract.table.name}_primary_key",
                    "primaryKey",
                    "expect_column_values_to_be_unique"
                    if single
                    else "expect_compound_columns_to_be_unique",
                    f"primary key ({', '.join(key)}) is unique",
                    key[0] if single else None,
                ),
                kwargs={"column": key[0]} if single else {"column_list": list(key)},
            )
        )

    # -- quality rules -----------------------------------------------------------------------

    def quality_rule(self, rule: QualityRule, path: Path_, prop: SchemaProperty | None) -> None:
        data = rule.model_dump(by_alias=True, exclude_none=True)
        reason = _not_run_because(rule.type, data.get("engine"))
        if reason is not None:
            self.skipped(rule.type, data, path, prop, reason)
            return
        before = len(self.problems)
        self.library_rule(rule, data, path, prop)
        if rule.type != "sql":
            label = data.get("name") or data.get("id") or _default_name(data, prop, self)
            self.problems[before:] = [
                RuleProblem(problem.path, f"rule {label!r}: {problem.message}")
                for problem in self.problems[before:]
            ]

    def skipped(
        self,
        kind: str,
        data: dict[str, Any],
        path: Path_,
        prop: SchemaProperty | None,
        reason: str,
    ) -> None:
        """A rule meshlake cannot run: kept, named like a check, to be reported as not evaluated."""
        name = self.explicit_name(data, path)
        column = prop.name if prop is not None else None
        self.not_evaluated.append(
            NotEvaluated(
                port=self.ref,
                name=self.unique_name(name or f"{column or self.contract.table.name}_{kind}"),
                kind=kind,
                reason=reason,
                column=column,
                source=self.source(path),
                description=str(data.get("description") or ""),
                path=path,
            )
        )

    def library_rule(
        self, rule: QualityRule, data: dict[str, Any], path: Path_, prop: SchemaProperty | None
    ) -> None:
        before = len(self.problems)
        severity = self.severity(data, path)
        quarantine = self.quarantine(data, path)
        limit = self.quarantine_limit(data, path, quarantine)
        name = self.explicit_name(data, path)
        if len(self.problems) > before:
            return
        if rule.type == "sql":
            self.sql_rule(data, path, prop, name, severity, quarantine)
            return
        metric = data.get("metric")
        if metric is None:
            hint = "; 'rule' is deprecated, rename it to metric" if "rule" in data else ""
            self.problem(path, f"library rule needs a metric ({', '.join(METRICS)}){hint}")
            return
        if metric not in METRICS:
            self.problem(
                (*path, "metric"), f"unknown metric {metric!r}; one of {', '.join(METRICS)}"
            )
            return
        try:
            threshold, _ = threshold_from_rule(data)
        except ValueError as exc:
            where, message = exc.args
            self.problem((*path, where) if where else path, message)
            return
        if threshold.unit not in UNITS:
            self.problem((*path, "unit"), f"unit {threshold.unit!r} is not one of rows, percent")
            return
        if metric == "rowCount" and threshold.unit != "rows":
            self.problem((*path, "unit"), "rowCount counts rows; percent does not fit it")
            return
        if threshold.unit == "percent" and not _percent_ok(threshold):
            self.problem(path, "a percent must be between 0 and 100")
            return
        if quarantine and metric not in COLUMN_METRICS:
            self.problem(
                (*path, "customProperties"),
                f"quarantine needs a row-level rule (nullValues, missingValues, invalidValues); "
                f"{metric} judges the whole table",
            )
            return
        column = prop.name if prop is not None else None
        arguments = data.get("arguments") or {}
        if not isinstance(arguments, dict):
            self.problem((*path, "arguments"), "arguments must be a mapping")
            return
        build = BUILDERS[metric]
        build(
            self,
            LibraryRule(
                data, path, column, arguments, threshold, name, severity, quarantine, limit
            ),
        )

    def severity(self, data: dict[str, Any], path: Path_) -> Severity:
        value = str(data.get("severity", "error")).lower()
        if value in ("warning", "info"):
            return "warning"
        if value != "error":
            self.problem((*path, "severity"), f"severity {value!r} is not one of error, warning")
        return "error"

    def quarantine(self, data: dict[str, Any], path: Path_) -> bool:
        properties = data.get("customProperties") or []
        if not isinstance(properties, list):
            return False
        items = [item for item in properties if isinstance(item, dict)]
        value = next(
            (item.get("value") for item in items if item.get("property") == QUARANTINE_PROPERTY),
            False,
        )
        if not isinstance(value, bool):
            index = next(i for i, item in enumerate(items) if item.get("property") == "quarantine")
            self.problem(
                (*path, "customProperties", index, "value"), "quarantine must be true or false"
            )
            return False
        return value

    def quarantine_limit(self, data: dict[str, Any], path: Path_, quarantine: bool) -> float | None:
        """``quarantineMaxPercent``: the largest share of rows a quarantine rule may set aside."""
        properties = data.get("customProperties") or []
        if not isinstance(properties, list):
            return None
        for index, item in enumerate(properties):
            if not isinstance(item, dict) or item.get("property") != QUARANTINE_LIMIT_PROPERTY:
                continue
            where = (*path, "customProperties", index, "value")
            value = item.get("value")
            if not quarantine:
                self.problem(
                    where,
                    f"{QUARANTINE_LIMIT_PROPERTY} limits a quarantine rule; add "
                    "{property: quarantine, value: true} or remove it",
                )
            elif isinstance(value, bool) or not isinstance(value, int | float):
                self.problem(where, f"{QUARANTINE_LIMIT_PROPERTY} must be a number, got {value!r}")
            elif not 0 <= value <= 100:
                self.problem(where, f"{QUARANTINE_LIMIT_PROPERTY} is a percent: 0 to 100")
            else:
                return float(value)
        return None

    def explicit_name(self, data: dict[str, Any], path: Path_) -> str | None:
        raw = data.get("name") or data.get("id")
        if raw is None:
            return None
        name = re.sub(r"[^A-Za-z0-9_]", "_", str(raw))
        where = (*path, "name" if "name" in data else "id")
        if name in self.explicit_names:
            self.problem(where, f"rule name {name!r} is used twice in this contract")
            return None
        self.explicit_names[name] = where
        return name

    def sql_rule(
        self,
        data: dict[str, Any],
        path: Path_,
        prop: SchemaProperty | None,
        name: str | None,
        severity: Severity,
        quarantine: bool,
    ) -> None:
        from meshlake.platform.quality._sql import sql_problem

        label = name or f"{prop.name if prop else self.contract.table.name}_sql"
        query = data.get("query")
        if not isinstance(query, str) or not query.strip():
            self.problem(path, f"sql rule {label!r} needs a query")
            return
        if quarantine:
            self.problem(
                (*path, "customProperties"),
                f"sql rule {label!r}: quarantine needs a row-level rule; a query returns one value",
            )
            return
        try:
            threshold, _ = threshold_from_rule(data, unit_default="")
        except ValueError as exc:
            where, message = exc.args
            self.problem((*path, where) if where else path, f"sql rule {label!r}: {message}")
            return
        problem = sql_problem(query, self.columns, prop.name if prop else None)
        if problem:
            self.problem((*path, "query"), f"sql rule {label!r}: {problem}")
            return
        column = prop.name if prop else None
        self.add(
            CompiledRule(
                self.spec(
                    path,
                    label,
                    "sql",
                    "spark_sql",
                    data.get("description") or f"query result {threshold.text()}",
                    column,
                    severity,
                ),
                threshold=threshold,
                query=query,
            )
        )


def _not_run_because(kind: str, engine: Any) -> str | None:
    """Why meshlake does not run a rule of this ``type`` and ``engine``, or None when it does."""
    if kind == "text":
        return "a text rule states a promise in words; nothing runs it"
    if kind == "custom":
        where = f"engine {engine!r}" if engine else "another engine"
        return f"a custom rule runs on {where}, which meshlake does not run"
    if engine is not None and str(engine).lower() not in ENGINES:
        return f"engine {engine!r} is not one meshlake runs (it runs {', '.join(ENGINES)})"
    return None


# -- one builder per library metric ----------------------------------------------------------


def _default_name(data: dict[str, Any], prop: SchemaProperty | None, c: _Compiler) -> str:
    metric = str(data.get("metric", "rule"))
    words = re.sub(r"(?<!^)(?=[A-Z])", "_", metric).lower()
    return f"{prop.name if prop else c.contract.table.name}_{words}"


def _percent_ok(threshold: Threshold) -> bool:
    values = [threshold.low] + ([threshold.high] if threshold.operator in RANGE_OPERATORS else [])
    return all(value is not None and 0 <= value <= 100 for value in values)


def _range_text(kwargs: dict[str, Any]) -> str:
    low, high = kwargs["min_value"], kwargs["max_value"]
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f">= {low}" if low is not None else f"<= {high}"
