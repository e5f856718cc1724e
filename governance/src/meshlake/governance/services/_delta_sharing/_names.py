"""How meshlake's catalog maps onto the protocol's share / schema / table names.

A share is one active agreement whose consumer is the recipient (its name is the agreement's); its
one schema is the providing domain (an agreement covers ports of one domain); a table is one
output port, named ``<product>__<port>`` so that it is unique in the domain and holds no dot (the
client splits ``share.schema.table`` on dots).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

PAGE_TOKEN = r"^([0-9a-f]{2}){1,500}$"

RECIPIENT_KINDS = ("person", "team", "external")
"""Consumer kinds that read through Delta Sharing (a product reads through its domain)."""


def table_name(port: str) -> str:
    """``hr.employees.employees`` -> ``employees__employees``."""
    _, product, name = port.split(".")
    return f"{product}__{name}"


def page(
    items: Sequence[T], key: Callable[[T], str], max_results: int | None, token: str | None
) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by ``key``) after the token's key, and the next token.

    The token is the last key served (hex of its UTF-8; routes check ``PAGE_TOKEN``), so a page
    stays right when items come or go in between, and any well-formed token is a position.
    """
    ordered = sorted(items, key=key)
    if token:
        after = bytes.fromhex(token).decode(errors="replace")
        ordered = [item for item in ordered if key(item) > after]
    if max_results is None or len(ordered) <= max_results:
        return ordered, None
    chosen = ordered[:max_results]
    return chosen, key(chosen[-1]).encode().hex()
