"""Is a container's command a real command of the workspace? The image's environment is the one
`uv sync --frozen` builds, as the tests' own is: the program must be one of its scripts, its
subcommands must exist and take every option given; a Spark daemon's class must be in Spark's jars."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pyspark

# Programs whose subcommands and options are checked against their own --help.
CLICK_PROGRAMS = ("meshlake", "dagster-webserver", "dagster-daemon")


def problems_with_command(argv: list[str]) -> list[str]:
    """What is wrong with ``argv`` as a command of the workspace's environment (empty: nothing)."""
    program = Path(sys.executable).parent / argv[0]
    if not program.exists():
        return [f"{argv[0]} is not a program of the workspace's environment ({program.parent})"]
    if argv[0] == "spark-class":
        return _spark_class_problems(argv[1:])
    if argv[0] in CLICK_PROGRAMS:
        return _option_problems(program, argv[1:])
    return []


def _option_problems(program: Path, args: list[str]) -> list[str]:
    subcommands: list[str] = []
    for arg in args:
        if arg.startswith("-"):
            break
        subcommands.append(arg)
    returncode, stdout, stderr = _help(str(program), tuple(subcommands))
    name = " ".join([program.name, *subcommands])
    if returncode != 0:
        return [f"`{name} --help` failed: {stderr.strip()[-300:]}"]
    options = [arg.split("=")[0] for arg in args if arg.startswith("--")]
    return [
        f"`{name}` has no option {option}"
        for option in options
        # Whole option names: --worker must not pass because --workers exists.
        if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", stdout)
    ]


@functools.cache
def _help(program: str, subcommands: tuple[str, ...]) -> tuple[int, str, str]:
    """A command's --help, once per test process (the CLI takes seconds to import)."""
    result = subprocess.run(
        [program, *subcommands, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"},
        check=False,
    )
    return result.returncode, result.stdout, result.stderr


def _spark_class_problems(args: list[str]) -> list[str]:
    if not args:
        return ["spark-class needs a class name"]
    entry = args[0].replace(".", "/") + ".class"
    jars = Path(pyspark.__file__).parent / "jars"
    for jar in jars.glob("spark-core_*.jar"):
        with zipfile.ZipFile(jar) as archive:
            if entry in archive.namelist():
                return []
    return [f"no class {args[0]} in Spark's core jar ({jars})"]
