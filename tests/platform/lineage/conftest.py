"""Fixtures of the lineage tests."""

from __future__ import annotations

import pytest

from tests.openlineage_schemas import OpenLineageSchemas


@pytest.fixture(scope="module")
def schemas(openlineage_schemas: OpenLineageSchemas) -> OpenLineageSchemas:
    return openlineage_schemas
