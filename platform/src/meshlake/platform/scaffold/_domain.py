"""``meshlake domain new``: a domain folder with its team, hosted by a landing zone."""

from __future__ import annotations

from pathlib import Path

from meshlake.platform.scaffold._common import (
    DOMAINS_DIR,
    ZONES_DIR,
    Scaffolded,
    ScaffoldError,
    check_email,
    check_name,
    dump_yaml,
    write_new,
)
from meshlake.platform.scaffold._zone_edit import add_domain
from meshlake.platform.specs import LandingZone, YamlSyntaxError, load_located_yaml


def new_domain(
    root: Path, name: str, *, zone: str, owner: str, description: str | None = None
) -> Scaffolded:
    """Write ``domains/NAME/domain.yaml`` and list NAME in the zone's file.

    Everything is checked before anything is written, so a refusal leaves the project as it was."""
    check_name("NAME", name, "domain")
    check_email("--owner", owner)
    folder = root / DOMAINS_DIR / name
    if folder.exists():
        raise ScaffoldError("NAME", f"domain {name!r} exists already ({folder}); pick another name")
    zone_file = root / ZONES_DIR / f"{zone}.yaml"
    zone_spec = _zone(root, zone, zone_file)
    if zone_spec.kind != "data":
        raise ScaffoldError(
            "--zone", f"{zone!r} is the governance zone; domains live in a data landing zone"
        )
    result = Scaffolded()
    if name not in zone_spec.domains:
        original = zone_file.read_text(encoding="utf-8")
        try:
            edited = add_domain(original, name)
        except ValueError as exc:
            raise ScaffoldError("--zone", f"{zone_file}: {exc}; add {name!r} by hand") from None
        _check_edit(zone_file, edited, name)
        zone_file.write_text(edited, encoding="utf-8")
        result.edited.append(zone_file)
    domain_file = folder / "domain.yaml"
    write_new(domain_file, _domain_yaml(name, zone, owner, description))
    result.written.append(domain_file)
    result.next_steps.append(
        f"meshlake product new {name}.<product> --from <port>[,<port>]  "
        "(ports: `meshlake list`; another domain's port needs its owner's approval)"
    )
    return result


def _zone(root: Path, zone: str, file: Path) -> LandingZone:
    if not file.is_file():
        known = sorted(path.stem for path in (root / ZONES_DIR).glob("*.yaml"))
        raise ScaffoldError(
            "--zone",
            f"no landing zone {zone!r} (no {ZONES_DIR / (zone + '.yaml')}); "
            f"known zones: {', '.join(known) or 'none'}",
        )
    try:
        return LandingZone.model_validate(load_located_yaml(file).data)
    except (YamlSyntaxError, ValueError) as exc:
        raise ScaffoldError(
            "--zone", f"{file} does not load ({exc}); fix it with `meshlake validate` first"
        ) from None


def _check_edit(file: Path, edited: str, name: str) -> None:
    """The edited zone must still load and list the domain: a wrong edit is refused, not written."""
    import yaml

    data = yaml.safe_load(edited)
    if not isinstance(data, dict) or name not in (data.get("domains") or []):
        raise ScaffoldError(
            "--zone", f"could not add {name!r} to {file}; add it under domains by hand"
        )


def _domain_yaml(name: str, zone: str, owner: str, description: str | None) -> str:
    data = {
        "name": name,
        "description": description or f"The {name} domain: say what business area it owns.",
        "landingZone": zone,
        "team": {
            "name": f"{name.replace('_', '-')}-team",
            "members": [{"username": owner, "role": "owner"}],
        },
        "rawSources": [],
    }
    header = (
        f"Domain {name}, created by `meshlake domain new`. Add the team's members and the raw\n"
        "sources it lands (rawSources: id, name, version, format, schema or contract)."
    )
    return dump_yaml(data, header)
