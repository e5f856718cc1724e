"""The ``meshlake`` command. Thin: it parses arguments and calls the Platform facade.

Command groups register themselves: the platform's own are listed here, and other parts (governance,
orchestration) add theirs through the ``meshlake.cli`` entry-point group, each entry a function that
takes the Typer app and adds its commands.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import entry_points

import typer

from meshlake.platform.cli._arguments import Products as Products
from meshlake.platform.cli._arguments import Upstream as Upstream
from meshlake.platform.cli._output import errors, fail

_BUILTIN = (
    "meshlake.platform.cli._specs",
    "meshlake.platform.cli._materialize",
    "meshlake.platform.cli._quality",
    "meshlake.platform.cli._vacuum",
    "meshlake.platform.cli._scaffold",
)

app = typer.Typer(
    name="meshlake",
    help="meshlake: publish data products on a governed lakehouse mesh.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register(argv: list[str] | None = None) -> None:
    for module in _BUILTIN:
        importlib.import_module(module).register(app)
    # The other parts' commands import Dagster and the governance service (about 5 s of CPU):
    # a built-in command such as `meshlake validate` never needs them, so they load only for
    # another command or for the command list. ``argv`` None (a caller of the app) loads all.
    command = next((arg for arg in argv or () if arg[:1] != "-"), None)
    if command is not None and command in _builtin_names():
        return
    for entry in entry_points(group="meshlake.cli"):
        entry.load()(app)


def _builtin_names() -> set[str]:
    commands = {info.name for info in app.registered_commands}
    return {name for name in commands if name} | {
        info.name for info in app.registered_groups if info.name
    }


def main() -> None:
    from meshlake.platform._errors import MeshlakeError

    _register(sys.argv[1:])
    try:
        app()
    except MeshlakeError as exc:
        fail(str(exc))
    except ModuleNotFoundError as exc:
        # A governance-only install has the platform without its `spark` extra.
        if (exc.name or "").split(".")[0] not in _SPARK_EXTRA:
            raise
        # Outside app(), typer.Exit (what fail raises) would end in a traceback.
        errors.print(
            f"error: this command runs on Spark, and {exc.name} is not installed here: install "
            "meshlake-platform[spark] (or `uv sync` in the meshlake workspace)",
            markup=False,
            style="red",
        )
        raise SystemExit(1) from None


_SPARK_EXTRA = {"pyspark", "delta", "great_expectations", "py4j"}
