"""Load and validate every spec of a mesh, collecting all problems instead of stopping at the first.

Order of work: landing zones, domains, products with their contracts, then the checks that need them
all (unique ids, input ports resolving, versions matching, no cycles), then the sharing agreements
and whether every cross-domain input port is covered by one today.
"""

from __future__ import annotations

import difflib
import graphlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from meshlake.platform._ids import PortRef, ProductRef
from meshlake.platform.specs._agreements import (
    AGREEMENTS_DIR,
    PERSONAL_CLASSIFICATIONS,
    AgreementSpec,
    SharingAgreement,
    sla_item_problem,
    sla_looser,
)
from meshlake.platform.specs._contract_loader import load_contract, port_table, raw_source_ddl
from meshlake.platform.specs._glossary import glossary_problems
from meshlake.platform.specs._mesh import InputBinding, Mesh, PortSpec, ProductSpec, RawSourceSpec
from meshlake.platform.specs._mesh_cache import REPORT_FILE, cached, cached_load, keep_mesh
from meshlake.platform.specs._models import (
    ENGINES,
    TIERS,
    WRITE_MODES,
    Contract,
    CustomProperty,
    Domain,
    LandingZone,
    ProductDescriptor,
    RawSource,
)
from meshlake.platform.specs._problems import (
    Problem,
    SpecError,
    field_path,
    problems_from_validation,
)
from meshlake.platform.specs._sla import DURATION_UNITS
from meshlake.platform.specs._transform_check import transform_sql_problems
from meshlake.platform.specs._yaml import (
    LocatedYaml,
    YamlSyntaxError,
    load_located_text,
    load_located_yaml,
    preparse,
    read_spec_text,
)

ZONES_DIR = Path("infra") / "landing-zones"
DOMAINS_DIR = Path("domains")
TRANSFORM_NAMES = ("transform.sql", "transform.py")
DURATION_SLAS = ("latency", "frequency", "retention")

M = TypeVar("M", bound=BaseModel)


@dataclass
class ValidationReport:
    """The outcome of validating a mesh: the mesh when it is usable, and every problem found.

    ``notes`` are worth knowing but fail nothing: the quality rules meshlake cannot run (``type:
    text``, ``type: custom``, another ``engine``), which it reports as not evaluated. ``warnings``
    fail nothing either: an expired agreement, an agreement for a product that does not read the
    port. ``agreement_problems`` (a bad agreement file, a cross-domain input port with no agreement
    in force on ``today``) fail validation but not loading: they concern who may read, not how
    products build, so one domain's agreement (or the calendar) never stops the whole mesh; the
    platform refuses the one product that reads without an agreement when it runs.
    ``check_problems`` (transform SQL reading a table or column no input has, a bad glossary file)
    fail validation but not loading either: they would fail a run or a sync, not the mesh's shape."""

    mesh: Mesh | None
    problems: list[Problem] = field(default_factory=list)
    files_checked: int = 0
    notes: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    agreement_problems: list[Problem] = field(default_factory=list)
    check_problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.agreement_problems and not self.check_problems


def load_mesh(root: Path, *, cache: Path | None = None) -> Mesh:
    """Load the mesh under ``root``; raise SpecError listing every problem if there is any.

    With ``cache`` (a folder in the state home), a mesh loaded before from the very same spec
    files is reused, and a newly loaded one is kept there (:mod:`._mesh_cache`).

    Only the problems that stop loading are looked for: the checks whose findings fail validation
    but not loading (agreement coverage, the columns and tables each transform's SQL reads, the
    glossary) are ``meshlake validate``'s, and following every transform's SQL was most of the
    time of loading a large mesh (Dagster definitions, each code location, every run)."""
    if cache is not None:
        return cached_load(root.resolve(), cache, lambda: load_mesh(root))
    report = _Loader(root.resolve(), datetime.now(UTC).date(), checks=False).run()
    if report.problems or report.mesh is None:
        raise SpecError(report.problems)
    return report.mesh


def validate_mesh(
    root: Path, *, today: date | None = None, cache: Path | None = None
) -> ValidationReport:
    """Validate every spec under ``root`` and report all problems; never raises for bad specs.

    ``today`` (default: today in UTC) decides which agreements are in force and which expired.
    With ``cache`` (a folder in the state home), a report without problems on the very same spec
    files and day is reused, and a new one kept (:mod:`._mesh_cache`); a report with problems is
    always made afresh (a transform may have failed only by running out of time). A mesh that
    loads is kept for ``load_mesh`` too."""
    day = today or datetime.now(UTC).date()
    if cache is None:
        return _Loader(root.resolve(), day).run()

    def fresh() -> ValidationReport:
        report = validate_mesh(root, today=day)
        if not report.problems and report.mesh is not None:  # it loads: the next load reuses it
            keep_mesh(root.resolve(), cache, report.mesh)
        return report

    return cached(
        root.resolve(),
        cache / REPORT_FILE,
        day.isoformat().encode(),
        ValidationReport,
        fresh,
        lambda report: report.mesh if report.ok else None,
    )


# Valid files parsed before, by model and exact text. The models are frozen, so two meshes may
# share them; ``meshlake review`` loads the base and the working tree, which differ in a few files.
_PARSED: OrderedDict[tuple[type[BaseModel], str], tuple[LocatedYaml, BaseModel]] = OrderedDict()
_PARSED_MAX = 20_000


def _remember(key: tuple[type[BaseModel], str], value: tuple[LocatedYaml, BaseModel]) -> None:
    _PARSED[key] = value
    if len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)


@dataclass
class _Parsed:
    """A spec file parsed into its model, with the document kept for line lookups."""

    file: Path
    document: LocatedYaml
    model: Any


class _Loader:
    def __init__(self, root: Path, today: date, *, checks: bool = True) -> None:
        self.root = root
        self.today = today
        self.checks = checks  # False: only what stops loading (see load_mesh)
        self.problems: list[Problem] = []
        self.notes: list[Problem] = []
        self.warnings: list[Problem] = []
        self.agreement_problems: list[Problem] = []
        self.check_problems: list[Problem] = []
        self.files_checked = 0
        # Contract ids declared by specs that failed to load: readers of them are not reported
        # again, so one mistake gives one problem.
        self.broken_contract_ids: set[str] = set()

    # -- reporting -------------------------------------------------------------------------

    def rel(self, file: Path) -> str:
        try:
            return str(file.relative_to(self.root))
        except ValueError:
            return str(file)

    def problem(self, parsed: _Parsed | Path, path: tuple[str | int, ...], message: str) -> None:
        self.problems.append(self.located(parsed, path, message))

    def warning(self, parsed: _Parsed, path: tuple[str | int, ...], message: str) -> None:
        self.warnings.append(self.located(parsed, path, message))

    def located(self, parsed: _Parsed | Path, path: tuple[str | int, ...], message: str) -> Problem:
        if isinstance(parsed, Path):
            return Problem(self.rel(parsed), 1, field_path(path), message)
        line = parsed.document.line_of(path)
        return Problem(self.rel(parsed.file), line, field_path(path), message)

    def parse(self, file: Path, model: type[M]) -> _Parsed | None:
        self.files_checked += 1
        try:
            text = read_spec_text(file)
            cached = _PARSED.get((model, text))
            if cached is not None:
                return _Parsed(file, cached[0], cached[1])
            document = load_located_text(text)
        except YamlSyntaxError as exc:
            self.problems.append(Problem(self.rel(file), exc.line, "", str(exc)))
            return None
        if not isinstance(document.data, dict):
            self.problems.append(
                Problem(
                    self.rel(file),
                    1,
                    "",
                    f"expected a mapping of fields, found {_kind(document.data)}",
                )
            )
            return None
        try:
            instance = model.model_validate(document.data)
        except ValidationError as exc:
            self.problems += problems_from_validation(exc, document, self.rel(file), model)
            return None
        _remember((model, text), (document, instance))
        return _Parsed(file, document, instance)

    # -- the walk --------------------------------------------------------------------------

    def run(self) -> ValidationReport:
        preparse(
            [
                *sorted((self.root / ZONES_DIR).glob("*.yaml")),
                *sorted((self.root / DOMAINS_DIR).rglob("*.yaml")),
            ]
        )
        zones = self.load_zones()
        domains, raw_sources = self.load_domains(zones)
        products = self.load_products(zones, domains)
        if products:
            self.resolve_inputs(products, raw_sources)
            self.check_cycles(products)
        agreements = self.load_agreements(domains, products)
        mesh = None
        if not self.problems:
            mesh = Mesh(
                root=self.root,
                zones={name: parsed.model for name, parsed in zones.items()},
                domains={name: parsed.model for name, parsed in domains.items()},
                products=dict(sorted((ref, built.spec()) for ref, built in products.items())),
                raw_sources=raw_sources,
                agreements=dict(sorted(agreements.items())),
            )
            if self.checks:
                self.check_coverage(mesh, products)
                self.check_columns_read(mesh)
                self.check_problems += transform_sql_problems(mesh, self.rel)
        if self.checks:
            glossary_files, glossary = glossary_problems(self.root, mesh)
            self.files_checked += glossary_files
            self.check_problems += glossary
        return ValidationReport(
            mesh,
            sorted(self.problems),
            self.files_checked,
            sorted(self.notes),
            sorted(self.warnings),
            sorted(self.agreement_problems),
            sorted(self.check_problems),
        )

    def load_zones(self) -> dict[str, _Parsed]:
        folder = self.root / ZONES_DIR
        if not folder.is_dir():
            self.problems.append(
                Problem(
                    str(ZONES_DIR), 1, "", "no landing zones folder; create one YAML file per zone"
                )
            )
            return {}
        zones: dict[str, _Parsed] = {}
        for file in sorted(folder.glob("*.yaml")):
            parsed = self.parse(file, LandingZone)
            if parsed is None:
                continue
            zone: LandingZone = parsed.model
            if zone.name != file.stem:
                self.problem(
                    parsed, ("name",), f"{zone.name!r} must match the file name {file.stem!r}"
                )
            zones[zone.name] = parsed
        self.check_zone_names(zones)
        if zones and not any(parsed.model.kind == "governance" for parsed in zones.values()):
            self.problems.append(
                Problem(str(ZONES_DIR), 1, "", "no zone has kind: governance; the mesh needs one")
            )
        return zones

    def check_zone_names(self, zones: dict[str, _Parsed]) -> None:
        """Two data zones never share a Dagster code location or a service principal (a
        governance zone has neither)."""
        for field_name, attribute in (
            ("codeLocation", "location_name"),
            ("servicePrincipal", "principal"),
        ):
            seen: dict[str, str] = {}
            for name, parsed in zones.items():
                if parsed.model.kind != "data":
                    continue
                value = getattr(parsed.model, attribute)
                if value in seen:
                    self.problem(
                        parsed,
                        (field_name,),
                        f"{value!r} is also zone {seen[value]!r}'s {field_name}; give each zone "
                        "its own",
                    )
                seen.setdefault(value, name)

    def load_domains(
        self, zones: dict[str, _Parsed]
    ) -> tuple[dict[str, _Parsed], dict[str, RawSourceSpec]]:
        domains: dict[str, _Parsed] = {}
        raw_sources: dict[str, RawSourceSpec] = {}
        for file in sorted((self.root / DOMAINS_DIR).glob("*/domain.yaml")):
            parsed = self.parse(file, Domain)
            if parsed is None:
                continue
            domain: Domain = parsed.model
            if domain.name != file.parent.name:
                self.problem(
                    parsed,
                    ("name",),
                    f"{domain.name!r} must match the folder name {file.parent.name!r}",
                )
            zone = zones.get(domain.landing_zone)
            if zone is None:
                self.problem(
                    parsed, ("landingZone",), _unknown("landing zone", domain.landing_zone, zones)
                )
            elif domain.name not in zone.model.domains:
                self.problem(
                    parsed,
                    ("landingZone",),
                    f"zone {domain.landing_zone!r} does not list domain {domain.name!r}; "
                    f"add it to {self.rel(zone.file)} under domains",
                )
            elif zone.model.kind != "data":
                self.problem(
                    parsed,
                    ("landingZone",),
                    f"{domain.landing_zone!r} is a governance zone; domains live in data zones",
                )
            if not domain.team.owners:
                self.problem(
                    parsed,
                    ("team", "members"),
                    "no member has role: owner; every domain needs an owner",
                )
            for index, source in enumerate(domain.raw_sources):
                path = ("rawSources", index)
                if source.id in raw_sources:
                    self.problem(
                        parsed, (*path, "id"), f"raw source id {source.id!r} is declared twice"
                    )
                if source.contract is not None:
                    described = self.raw_source_contract(parsed, path, source)
                    if described is None:
                        self.broken_contract_ids.add(source.id)
                        continue
                    source = described
                spec = RawSourceSpec(domain, source, file)
                generator = spec.generator_file
                if generator is not None and not generator.is_file():
                    self.problem(
                        parsed,
                        (*path, "generator"),
                        f"generator file {self.rel(generator)} does not exist",
                    )
                raw_sources[source.id] = spec
            domains[domain.name] = parsed
        for zone in zones.values():
            for index, hosted in enumerate(zone.model.domains):
                if hosted not in domains:
                    self.problem(zone, ("domains", index), _unknown("domain", hosted, domains))
        return domains, raw_sources

    def raw_source_contract(
        self, parsed: _Parsed, path: tuple[str | int, ...], source: RawSource
    ) -> RawSource | None:
        """``source`` with the Spark schema of the ODCS contract that describes it, or None.

        The contract describes the drop as the source system holds it: another platform's
        physical types are mapped to Spark through each column's logicalType."""
        file = parsed.file.parent / str(source.contract)
        if not file.is_file():
            self.problem(
                parsed, (*path, "contract"), f"contract file {self.rel(file)} does not exist"
            )
            return None
        self.files_checked += 1
        try:
            contract = load_contract(file, self.rel(file))
        except SpecError as exc:
            self.problems += exc.problems
            return None
        if contract.id != source.id:
            self.problem(
                parsed,
                (*path, "contract"),
                f"{self.rel(file)} is contract {contract.id!r}; the raw source's contract has its id {source.id!r}",
            )
            return None
        if len(contract.schema_) != 1 or not contract.schema_[0].properties:
            self.problem(
                parsed,
                (*path, "contract"),
                f"{self.rel(file)} must describe one table with its columns (a raw source is one drop)",
            )
            return None
        return source.model_copy(update={"schema_ddl": raw_source_ddl(contract)})

    def load_products(
        self, zones: dict[str, _Parsed], domains: dict[str, _Parsed]
    ) -> dict[ProductRef, _ProductBuild]:
        products: dict[ProductRef, _ProductBuild] = {}
        ids: dict[str, Path] = {}
        contracts: dict[str, Path] = {}
        for file in sorted((self.root / DOMAINS_DIR).glob("*/products/*/product.yaml")):
            parsed = self.parse(file, ProductDescriptor)
            if parsed is None:
                self.broken_contract_ids |= _declared_contract_ids(file)
                continue
            descriptor: ProductDescriptor = parsed.model
            folder_domain = file.parents[2].name
            if descriptor.name != file.parent.name:
                self.problem(
                    parsed,
                    ("name",),
                    f"{descriptor.name!r} must match the folder name {file.parent.name!r}",
                )
            if descriptor.domain != folder_domain:
                self.problem(
                    parsed,
                    ("domain",),
                    f"{descriptor.domain!r} must be {folder_domain!r}, the domain whose folder holds this product",
                )
            if descriptor.id in ids:
                self.problem(
                    parsed,
                    ("id",),
                    f"product id {descriptor.id!r} is also used by {self.rel(ids[descriptor.id])}",
                )
            ids[descriptor.id] = file
            self.check_custom_properties(
                parsed,
                ("customProperties",),
                descriptor.custom_properties,
                {"tier": TIERS, "engine": ENGINES},
            )
            domain = domains.get(folder_domain)
            if domain is None:
                self.problem(
                    parsed, ("domain",), f"domain folder {folder_domain!r} has no valid domain.yaml"
                )
                continue
            zone = zones.get(domain.model.landing_zone)
            build = _ProductBuild(
                ProductRef(folder_domain, descriptor.name),
                parsed,
                domain.model,
                zone.model if zone else None,
            )
            self.load_ports(build, contracts)
            products[build.ref] = build
        return products

    def check_custom_properties(
        self,
        parsed: _Parsed,
        path: tuple[str | int, ...],
        properties: list[CustomProperty],
        allowed: dict[str, tuple[str, ...]],
    ) -> None:
        for index, item in enumerate(properties):
            choices = allowed.get(item.property)
            if choices is not None and item.value not in choices:
                self.problem(
                    parsed,
                    (*path, index, "value"),
                    f"{item.property} {item.value!r} is not one of {', '.join(choices)}",
                )

    def load_ports(self, build: _ProductBuild, contracts: dict[str, Path]) -> None:
        parsed = build.parsed
        descriptor: ProductDescriptor = parsed.model
        directory = parsed.file.parent
        default_transform = self.find_transform(
            parsed, ("customProperties",), descriptor.custom_properties, directory
        )
        for index, port in enumerate(descriptor.output_ports):
            path = ("outputPorts", index)
            self.check_custom_properties(
                parsed,
                (*path, "customProperties"),
                port.custom_properties,
                {"writeMode": WRITE_MODES},
            )
            transform = (
                self.find_transform(
                    parsed, (*path, "customProperties"), port.custom_properties, directory
                )
                or default_transform
            )
            if transform is None:
                self.problem(
                    parsed,
                    path,
                    f"no transform for output port {port.name!r}: add {' or '.join(TRANSFORM_NAMES)} beside product.yaml",
                )
            if port.contract_id is None:
                self.problem(
                    parsed,
                    path,
                    f"output port {port.name!r} has no contractId; every output port is promised by a contract",
                )
                continue
            contract_file = directory / "contracts" / f"{port.name}.yaml"
            if not contract_file.is_file():
                if len(descriptor.output_ports) > 1:
                    self.problem(
                        parsed,
                        (*path, "contractId"),
                        f"missing contract file {self.rel(contract_file)} (one per output port when a product has several)",
                    )
                    continue
                contract_file = directory / "contract.yaml"
                if not contract_file.is_file():
                    self.problem(
                        parsed,
                        (*path, "contractId"),
                        f"missing contract file {self.rel(contract_file)} for output port {port.name!r}",
                    )
                    continue
            contract_parsed = self.parse(contract_file, Contract)
            if contract_parsed is None:
                self.broken_contract_ids.add(port.contract_id)
                continue
            bound, table_problems = port_table(
                contract_parsed.model,
                port.name,
                contract_parsed.document,
                self.rel(contract_file),
            )
            self.problems += table_problems
            if bound is None:
                self.broken_contract_ids.add(port.contract_id)
                continue
            contract_parsed = _Parsed(contract_file, contract_parsed.document, bound)
            contract: Contract = bound
            if contract.id != port.contract_id:
                self.problem(
                    contract_parsed,
                    ("id",),
                    f"{contract.id!r} must equal the contractId {port.contract_id!r} of output port {port.name!r} in {self.rel(parsed.file)}",
                )
            if contract.id in contracts:
                self.problem(
                    contract_parsed,
                    ("id",),
                    f"contract id {contract.id!r} is also used by {self.rel(contracts[contract.id])}",
                )
            contracts[contract.id] = contract_file
            if port.version != contract.version:
                self.problem(
                    parsed,
                    (*path, "version"),
                    f"{port.version!r} must equal the contract's version {contract.version!r} ({self.rel(contract_file)})",
                )
            self.check_primary_key(contract_parsed)
            self.check_sla_durations(contract_parsed)
            compiled = self.check_quality_rules(contract_parsed, build.ref.port(port.name))
            if transform is not None:
                build.ports[port.name] = PortSpec(
                    build.ref.port(port.name),
                    port,
                    contract,
                    contract_file,
                    transform,
                    (contract, compiled),
                )

    def check_primary_key(self, parsed: _Parsed) -> None:
        contract: Contract = parsed.model
        for index, prop in enumerate(contract.columns):
            if prop.primary_key and not prop.required:
                self.problem(
                    parsed,
                    ("schema", contract.table_index, "properties", index, "required"),
                    f"primary key column {prop.name!r} must be required: true",
                )

    def check_quality_rules(self, parsed: _Parsed, ref: PortRef) -> Any:
        """Bad quality rules are spec errors: reported here, before anything runs. Rules that
        meshlake cannot run are notes: not evaluated, never silently dropped. Returns the
        compiled contract, which the port keeps."""
        from meshlake.platform.quality._rules import contract_rules

        compiled = contract_rules(parsed.model, ref, parsed.file.name, parsed.document)
        for problem in compiled.problems:
            self.problem(parsed, problem.path, problem.message)
        for rule in compiled.not_evaluated:
            line = parsed.document.line_of(rule.path)
            self.notes.append(
                Problem(
                    self.rel(parsed.file),
                    line,
                    field_path(rule.path),
                    f"rule {rule.name!r} is not evaluated: {rule.reason}",
                )
            )
        return compiled

    def check_sla_durations(self, parsed: _Parsed) -> None:
        contract: Contract = parsed.model
        for index, item in enumerate(contract.sla_properties):
            if item.property not in DURATION_SLAS:
                continue
            if isinstance(item.value, bool) or not isinstance(item.value, int | float):
                self.problem(
                    parsed,
                    ("slaProperties", index, "value"),
                    f"{item.property} {item.value!r} must be a number of units (e.g. value: 1, unit: d)",
                )
            elif item.unit is None or item.unit.lower() not in DURATION_UNITS:
                self.problem(
                    parsed,
                    ("slaProperties", index, "unit"),
                    f"{item.property} needs a unit, one of {', '.join(DURATION_UNITS)}",
                )

    def find_transform(
        self,
        parsed: _Parsed,
        path: tuple[str | int, ...],
        properties: list[CustomProperty],
        directory: Path,
    ) -> Path | None:
        for index, item in enumerate(properties):
            if item.property == "transform":
                file = directory / str(item.value)
                if file.suffix not in (".sql", ".py"):
                    self.problem(
                        parsed,
                        (*path, index, "value"),
                        f"transform {item.value!r} must be a .sql or .py file",
                    )
                    return None
                if not file.is_file():
                    self.problem(
                        parsed,
                        (*path, index, "value"),
                        f"transform file {self.rel(file)} does not exist",
                    )
                    return None
                return file
        if path[0] != "customProperties":
            return None
        present = [directory / name for name in TRANSFORM_NAMES if (directory / name).is_file()]
        if len(present) > 1:
            self.problem(
                parsed,
                path,
                "both transform.sql and transform.py exist; name one with customProperties transform",
            )
            return None
        return present[0] if present else None

    def resolve_inputs(
        self, products: dict[ProductRef, _ProductBuild], raw_sources: dict[str, RawSourceSpec]
    ) -> None:
        by_contract: dict[str, PortSpec] = {
            str(port.port.contract_id): port
            for build in products.values()
            for port in build.ports.values()
        }
        for build in products.values():
            descriptor: ProductDescriptor = build.parsed.model
            names: set[str] = set()
            for index, port in enumerate(descriptor.input_ports):
                path = ("inputPorts", index)
                if port.name in names:
                    self.problem(
                        build.parsed, (*path, "name"), f"input port {port.name!r} is declared twice"
                    )
                names.add(port.name)
                target = by_contract.get(port.contract_id)
                raw = raw_sources.get(port.contract_id)
                if target is not None:
                    if target.ref.product_ref == build.ref:
                        self.problem(
                            build.parsed,
                            (*path, "contractId"),
                            "a product cannot read its own output port",
                        )
                        continue
                    if _major(port.version) != _major(target.contract.version):
                        self.problem(
                            build.parsed,
                            (*path, "version"),
                            f"{port.version!r} is not compatible with contract {port.contract_id!r} at version {target.contract.version} (major versions differ)",
                        )
                    build.inputs.append(InputBinding(port, output=target.ref))
                elif raw is not None:
                    if raw.domain.name != build.ref.domain:
                        self.problem(
                            build.parsed,
                            (*path, "contractId"),
                            f"raw source {port.contract_id!r} belongs to domain {raw.domain.name!r}; read one of its products instead",
                        )
                        continue
                    if _major(port.version) != _major(raw.source.version):
                        self.problem(
                            build.parsed,
                            (*path, "version"),
                            f"{port.version!r} is not compatible with raw source {port.contract_id!r} at version {raw.source.version}",
                        )
                    build.inputs.append(InputBinding(port, raw=raw))
                elif port.contract_id not in self.broken_contract_ids:
                    known = sorted([*by_contract, *raw_sources])
                    self.problem(
                        build.parsed,
                        (*path, "contractId"),
                        _unknown("output port contract or raw source", port.contract_id, known),
                    )

    def check_cycles(self, products: dict[ProductRef, _ProductBuild]) -> None:
        graph = {
            ref: {binding.output.product_ref for binding in build.inputs if binding.output}
            for ref, build in products.items()
        }
        try:
            graphlib.TopologicalSorter(graph).prepare()
        except graphlib.CycleError as exc:
            cycle: list[ProductRef] = exc.args[1]
            first = products[cycle[0]]
            chain = " -> ".join(str(ref) for ref in reversed(cycle))
            self.problem(first.parsed, ("inputPorts",), f"dependency cycle: {chain}")

    # -- sharing agreements ----------------------------------------------------------------

    def load_agreements(
        self, domains: dict[str, _Parsed], products: dict[ProductRef, _ProductBuild]
    ) -> dict[str, AgreementSpec]:
        # Problems found here go to agreement_problems: they fail validation, not the mesh.
        spec_problems, self.problems = self.problems, []
        try:
            return self.agreements_in(domains, products)
        finally:
            self.agreement_problems += self.problems
            self.problems = spec_problems

    def agreements_in(
        self, domains: dict[str, _Parsed], products: dict[ProductRef, _ProductBuild]
    ) -> dict[str, AgreementSpec]:
        by_contract = {
            str(port.port.contract_id): port
            for build in products.values()
            for port in build.ports.values()
        }
        agreements: dict[str, AgreementSpec] = {}
        files: dict[str, Path] = {}
        for stray in sorted((self.root / DOMAINS_DIR).glob(f"*/{AGREEMENTS_DIR}/*.yml")):
            self.problem(stray, (), f"agreement files end in .yaml; rename it to {stray.stem}.yaml")
        for file in sorted((self.root / DOMAINS_DIR).glob(f"*/{AGREEMENTS_DIR}/*.yaml")):
            parsed = self.parse(file, SharingAgreement)
            if parsed is None:
                continue
            agreement: SharingAgreement = parsed.model
            domain = file.parents[1].name
            if agreement.name in files:
                self.problem(
                    parsed,
                    ("name",),
                    f"agreement name {agreement.name!r} is also used by "
                    f"{self.rel(files[agreement.name])}; names are unique in the mesh",
                )
                continue
            files[agreement.name] = file
            if domain not in domains:
                self.problem(parsed, (), f"domain folder {domain!r} has no valid domain.yaml")
                continue
            if agreement.end <= agreement.start:
                self.problem(
                    parsed,
                    ("end",),
                    f"end {agreement.end} must be after start {agreement.start}",
                )
            consumer = self.agreement_consumer(parsed, domain, products)
            ports = [
                self.agreement_port(parsed, index, domain, by_contract)
                for index in range(len(agreement.ports))
            ]
            self.agreement_sla(parsed, [port for port in ports if port is not None])
            self.agreement_approver(parsed, domains, [port for port in ports if port is not None])
            if any(port is None for port in ports) or (
                agreement.consumer.kind == "product" and consumer is None
            ):
                continue  # reported; an agreement kept in the mesh names real ports and products
            spec = AgreementSpec(
                agreement, domain, file, tuple(port.ref for port in ports if port is not None)
            )
            agreements[agreement.name] = spec
            if spec.expired_on(self.today):
                self.warning(
                    parsed,
                    ("end",),
                    f"agreement {agreement.name!r} expired on {agreement.end}; nothing may read "
                    "under it: set a later end to renew it, or delete the file",
                )
            if consumer is not None:
                read = {binding.output for binding in consumer.inputs if binding.output}
                for index, ref in enumerate(spec.port_refs):
                    if ref not in read:
                        # A warning, not an error: agreements are requested and approved before
                        # the consumer's input port is written, often in an earlier pull request.
                        self.warning(
                            parsed,
                            ("ports", index, "port"),
                            f"product {consumer.ref} has no input port on {ref}; the agreement "
                            "grants what nothing reads: add the input port to "
                            f"{self.rel(consumer.parsed.file)}, or drop this port",
                        )
        return agreements

    def agreement_approver(
        self, parsed: _Parsed, domains: dict[str, _Parsed], ports: list[PortSpec]
    ) -> None:
        """``approvedBy`` names an owner of the providing domain: only they approve."""
        approver = parsed.model.approved_by
        if approver is None or not ports:
            return
        provider = ports[0].ref.domain
        owners = domains[provider].model.team.owners if provider in domains else []
        if approver not in owners:
            self.problem(
                parsed,
                ("approvedBy",),
                f"{approver} is not an owner of the providing domain {provider} "
                f"({', '.join(owners) or 'it lists none'}); only its owner approves",
            )

    def agreement_consumer(
        self, parsed: _Parsed, domain: str, products: dict[ProductRef, _ProductBuild]
    ) -> _ProductBuild | None:
        """The consuming product when the consumer is one (and exists in this domain)."""
        consumer = parsed.model.consumer
        if consumer.kind != "product":
            return None
        try:
            ref = ProductRef.parse(consumer.id)
        except ValueError as exc:
            self.problem(parsed, ("consumer", "id"), str(exc))
            return None
        if ref.domain != domain:
            self.problem(
                parsed,
                ("consumer", "id"),
                f"product {ref} belongs to domain {ref.domain!r}; an agreement lives in the "
                f"consumer's domain folder, domains/{ref.domain}/{AGREEMENTS_DIR}/",
            )
            return None
        build = products.get(ref)
        if build is None:
            mine = [str(key) for key in products if key.domain == domain]
            self.problem(
                parsed,
                ("consumer", "id"),
                f"domain {domain} has no product {str(ref)!r}; {_hint(str(ref), mine)}",
            )
        return build

    def agreement_port(
        self, parsed: _Parsed, index: int, domain: str, by_contract: dict[str, PortSpec]
    ) -> PortSpec | None:
        """The output port one ``ports`` item shares; a wrong column is reported but keeps the
        agreement, so that the review still names it when a contract drops a column it delivers."""
        path: tuple[str | int, ...] = ("ports", index)
        shared = parsed.model.ports[index]
        target = by_contract.get(shared.port)
        if target is None:
            if shared.port not in self.broken_contract_ids:
                self.problem(
                    parsed,
                    (*path, "port"),
                    _unknown("output port contract", shared.port, by_contract),
                )
            return None
        if target.ref.domain == domain:
            self.problem(
                parsed,
                (*path, "port"),
                f"{shared.port} is a port of {domain}, the consumer's own domain; reading it "
                "needs no agreement: drop it",
            )
            return None
        if any(other.port == shared.port for other in parsed.model.ports[:index]):
            self.problem(parsed, (*path, "port"), f"port {shared.port} is listed twice")
            return None
        contract = target.contract
        known = {prop.name: prop for prop in contract.columns}
        for name_path, names in (
            ("columns", shared.columns or []),
            ("masked", shared.masked),
            ("rows", list(shared.rows)),
        ):
            seen: set[str] = set()
            for position, name in enumerate(names):
                where = (
                    (*path, name_path, name)
                    if name_path == "rows"
                    else (*path, name_path, position)
                )
                if name not in known:
                    self.problem(
                        parsed,
                        where,
                        f"{contract.id} has no column {name!r}; {_hint(name, known)}",
                    )
                elif name in seen:
                    self.problem(parsed, where, f"column {name!r} is listed twice")
                seen.add(name)
        delivered = list(known) if shared.columns is None else shared.columns
        for position, name in enumerate(shared.masked):
            if name in known and name not in delivered:
                self.problem(
                    parsed,
                    (*path, "masked", position),
                    f"masked column {name!r} is not among the columns; add it to columns or "
                    "drop it from masked",
                )
        personal = [
            f"{name} ({known[name].classification})"
            for name in delivered
            if name in known
            and (known[name].classification or "").lower() in PERSONAL_CLASSIFICATIONS
            and name not in shared.masked
        ]
        if personal and parsed.model.legal_basis is None:
            self.problem(
                parsed,
                (*path, "columns" if shared.columns is not None else "port"),
                f"personal data delivered unmasked: {', '.join(personal)}; list these columns "
                "under masked, leave them out of columns, or state the agreement's legalBasis",
            )
        return target

    def agreement_sla(self, parsed: _Parsed, ports: list[PortSpec]) -> None:
        """Each SLA item is a known property with a usable value, and never looser than the
        contract of a port it covers (an agreement may only promise more)."""
        seen: set[str] = set()
        for index, item in enumerate(parsed.model.sla):
            path: tuple[str | int, ...] = ("sla", index)
            wrong = sla_item_problem(item)
            if wrong is not None:
                self.problem(parsed, (*path, wrong[0]), wrong[1])
                continue
            if item.property in seen:
                self.problem(
                    parsed, (*path, "property"), f"SLA property {item.property!r} is listed twice"
                )
                continue
            seen.add(item.property)
            for port in ports:
                promised = port.contract.sla(item.property)
                if promised is not None and sla_looser(promised, item):
                    unit = f" {promised.unit}" if promised.unit else ""
                    self.problem(
                        parsed,
                        (*path, "value"),
                        f"{item.property} {item.value}{' ' + item.unit if item.unit else ''} is "
                        f"looser than contract {port.contract.id} promises ({promised.value}{unit}); "
                        "an agreement may only tighten the contract's SLA: drop the item to take "
                        "the contract's",
                    )

    def check_columns_read(self, mesh: Mesh) -> None:
        """A consumer product's transform reads only columns its agreement delivers.

        The column lineage of its transforms (sqlglot over transform.sql, or the contract's declared
        ``transformSourceObjects``) says which columns of the input port it reads; a transform whose
        lineage cannot be followed is not judged here (it fails when it runs)."""
        from meshlake.platform.lineage import LineageError, port_column_lineage

        for spec in mesh.agreements.values():
            consumer = spec.consumer_product
            if consumer is None or consumer not in mesh.products:
                continue
            product = mesh.products[consumer]
            for index, (ref, shared) in enumerate(
                zip(spec.port_refs, spec.agreement.ports, strict=True)
            ):
                inputs = {binding.name for binding in product.inputs if binding.output == ref}
                if shared.columns is None or not inputs:
                    continue
                read: set[str] = set()
                for port in product.ports.values():
                    try:
                        edges = port_column_lineage(mesh, product, port)
                    except LineageError:
                        continue
                    read |= {edge.input_column for edge in edges if edge.input_port in inputs}
                missing = sorted(read - set(shared.columns))
                if missing:
                    transform = ", ".join(
                        sorted({self.rel(port.transform_file) for port in product.ports.values()})
                    )
                    self.agreement_problems.append(
                        self.located(
                            _Parsed(spec.file, load_located_yaml(spec.file), spec.agreement),
                            ("ports", index, "columns"),
                            f"{transform} reads {', '.join(missing)} of {ref}, which this "
                            "agreement does not deliver: add them to columns, or stop reading them",
                        )
                    )

    def check_coverage(self, mesh: Mesh, products: dict[ProductRef, _ProductBuild]) -> None:
        """Every input port on another domain's output port needs an agreement in force today.

        Raw sources are read within their own domain only (resolve_inputs says so), so they are
        never cross-domain."""
        for ref, build in products.items():
            names = [port.name for port in build.parsed.model.input_ports]
            for binding in build.inputs:
                output = binding.output
                if output is None or output.domain == ref.domain:
                    continue
                if mesh.agreement_for(ref, output, self.today) is not None:
                    continue
                out_of_date = [
                    f"{spec.name!r} runs {spec.agreement.start}..{spec.agreement.end}"
                    for spec in mesh.agreements.values()
                    if spec.consumer_product == ref and spec.port(output) is not None
                ]
                hint = f" (agreement {', '.join(out_of_date)})" if out_of_date else ""
                index = names.index(binding.name)
                self.agreement_problems.append(
                    self.located(
                        build.parsed,
                        ("inputPorts", index, "contractId"),
                        f"input port {binding.name!r} of {ref} reads {binding.port.contract_id} "
                        f"of domain {output.domain!r} with no sharing agreement in force on "
                        f"{self.today}{hint}; declare an agreement in "
                        f"domains/{ref.domain}/{AGREEMENTS_DIR}/ (consumer kind: product, id: "
                        f"{ref}, port: {binding.port.contract_id})",
                    )
                )


@dataclass
class _ProductBuild:
    ref: ProductRef
    parsed: _Parsed
    domain: Domain
    zone: LandingZone | None
    ports: dict[str, PortSpec] = field(default_factory=dict)
    inputs: list[InputBinding] = field(default_factory=list)

    def spec(self) -> ProductSpec:
        assert self.zone is not None, "only built when the specs have no problems"
        return ProductSpec(
            self.ref,
            self.parsed.model,
            self.parsed.file,
            self.domain,
            self.zone,
            self.ports,
            self.inputs,
        )


def _declared_contract_ids(file: Path) -> set[str]:
    """Contract ids a product file declares, read leniently from a file that failed validation."""
    try:
        data = load_located_yaml(file).data
        return {str(port["contractId"]) for port in data["outputPorts"] if "contractId" in port}
    except Exception:
        return set()


def _major(version: str) -> str:
    return version.split(".")[0]


def _kind(value: Any) -> str:
    return "an empty file" if value is None else f"a {type(value).__name__}"


def _unknown(kind: str, name: str, known: Any) -> str:
    return f"unknown {kind} {name!r}; {_hint(name, known)}"


def _hint(name: str, known: Any) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    return f"did you mean {close[0]!r}?" if close else f"known: {', '.join(names) or 'none'}"
