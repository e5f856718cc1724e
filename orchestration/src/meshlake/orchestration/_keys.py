"""Asset keys: ``[domain, product, port]`` for output ports, ``[domain, "raw", source]`` for raw drops."""

from __future__ import annotations

import dagster as dg

from meshlake.platform import PortRef
from meshlake.platform.specs import InputBinding, RawSourceSpec


def port_key(ref: PortRef) -> dg.AssetKey:
    return dg.AssetKey(ref.asset_key)


def raw_key(source: RawSourceSpec) -> dg.AssetKey:
    return dg.AssetKey([source.domain.name, "raw", source.source.name])


def input_key(binding: InputBinding) -> dg.AssetKey:
    """The asset an input port reads: another product's port, or a raw source."""
    if binding.output is not None:
        return port_key(binding.output)
    assert binding.raw is not None
    return raw_key(binding.raw)
