"""Validation of OpenLineage events against the official schemas in tests/fixtures/specs/openlineage.

The whole event is checked against OpenLineage.json, and each facet as ``{key: facet}`` against the
facet file whose ``properties`` hold that key, with ``$ref``s resolved locally by each file's ``$id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

from meshlake.platform.lineage import PRODUCER


class OpenLineageSchemas:
    """OpenLineage.json and the facet schemas, resolving ``$ref``s locally by each file's ``$id``."""

    def __init__(self, folder: Path) -> None:
        documents = [json.loads(path.read_text()) for path in sorted(folder.rglob("*.json"))]
        self.registry: Registry[Any] = Registry().with_resources(
            (document["$id"], Resource.from_contents(document)) for document in documents
        )
        self.core = next(doc for doc in documents if doc["$id"].endswith("/OpenLineage.json"))
        self.facets = [doc for doc in documents if doc is not self.core]

    def _errors(self, schema: dict[str, Any], instance: Any) -> list[str]:
        cls = jsonschema.validators.validator_for(schema)
        validator = cls(schema, registry=self.registry, format_checker=cls.FORMAT_CHECKER)
        return [_explain(error) for error in validator.iter_errors(instance)]

    def problems(self, event: dict[str, Any]) -> list[str]:
        """Everything wrong with ``event``: the whole event, then each facet against its own schema."""
        found = []
        if self._errors(self.core, event):
            # The core schema is a oneOf (run, dataset or job event), whose own message says only
            # that no branch matched; the reasons come from the run-event branch.
            run_event = {"$ref": f"{self.core['$id']}#/$defs/RunEvent"}
            found = [f"event: {error}" for error in self._errors(run_event, event)]
            found = found or ["event: valid as a run event, yet not under OpenLineage.json"]
        for where, key, facet in _facets(event):
            candidates = [doc for doc in self.facets if key in doc.get("properties", {})]
            chosen = [doc for doc in candidates if facet["_schemaURL"].startswith(doc["$id"] + "#")]
            if not chosen:
                found.append(
                    f"{where}.{key}: _schemaURL {facet['_schemaURL']} is none of the facet schemas "
                    f"declaring {key!r} ({', '.join(doc['$id'] for doc in candidates) or 'none'})"
                )
                continue
            found += [f"{where}.{key}: {e}" for e in self._errors(chosen[0], {key: facet})]
            if facet["_producer"] != PRODUCER:
                found.append(f"{where}.{key}: _producer is {facet['_producer']}")
        return found


def _explain(error: jsonschema.ValidationError) -> str:
    return f"{'/'.join(map(str, error.absolute_path))}: {error.message}"


def _facets(event: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for key, facet in event["run"].get("facets", {}).items():
        yield "run", key, facet
    for key, facet in event["job"].get("facets", {}).items():
        yield "job", key, facet
    for side in ("inputs", "outputs"):
        for index, dataset in enumerate(event.get(side, [])):
            for group in ("facets", "inputFacets", "outputFacets"):
                for key, facet in dataset.get(group, {}).items():
                    yield f"{side}[{index}].{group}", key, facet
