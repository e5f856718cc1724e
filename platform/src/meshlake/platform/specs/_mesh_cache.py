"""A loaded mesh (and a clean validation report) kept in the state folder, keyed by the digest of
every spec file.

`meshlake ui` loads the mesh to write the workspace, then Dagster starts one process per code
location, and each loaded (parsed and validated) the whole mesh again: on a mesh of 1,000 products
that is seconds of CPU per process. A process whose spec files are byte for byte those of the
kept mesh reuses it instead; so does a second `meshlake validate` of unchanged specs.

The key covers every file under ``infra/landing-zones/`` and ``domains/`` (names and contents, so
an added, removed or edited file is a miss), the project folder, the Python version, the
platform's source and the versions of the libraries that parse specs and SQL (a value pickled, or
judged valid, by other code is never read back). A mesh that names a file outside those folders
(a raw source's contract or generator given as ``../...``) is not kept: the digest would not see
that file change. The file is the user's own state, like the catalog database; anything
unreadable in it is a miss, never an error.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import TypeVar

from meshlake.platform.specs._mesh import Mesh

MESH_CACHE_DIR = "cache"
"""The folder, in the state home, where callers keep the mesh (``load_mesh(cache=...)``)."""
CACHE_FILE = "mesh.pickle"
REPORT_FILE = "validation.pickle"
_FORMAT = b"meshlake-mesh-cache-1"
_TREES = (Path("infra") / "landing-zones", Path("domains"))
T = TypeVar("T")
_LIBRARIES = ("pydantic", "pydantic-core", "PyYAML", "sqlglot")
_CODE = Path(__file__).resolve().parents[1]
"""The platform package (spec models, the loader, the quality rules it compiles): its source is
part of the key."""


def cached_load(root: Path, folder: Path, load: Callable[[], Mesh]) -> Mesh:
    """The mesh under ``root``: from ``folder``'s cache when the spec files are unchanged, else
    ``load()``, which is then kept for the next process (when it loaded without problems)."""
    return cached(root, folder / CACHE_FILE, b"", Mesh, load, lambda mesh: mesh)


def keep_mesh(root: Path, folder: Path, mesh: Mesh) -> None:
    """Keep a mesh that loads (no problems), built by another path: ``meshlake validate``."""
    if _inside_trees(mesh):
        _write(folder / CACHE_FILE, mesh_digest(root), mesh)


def cached(
    root: Path,
    file: Path,
    salt: bytes,
    kind: type[T],
    load: Callable[[], T],
    mesh_of: Callable[[T], Mesh | None],
) -> T:
    """What ``load()`` returns for the specs under ``root``, kept in ``file`` under the spec
    digest and ``salt`` (what else the answer depends on). Kept only when ``mesh_of`` finds a
    mesh in it whose files all lie in the digested folders."""
    key = mesh_digest(root, salt)
    found = _read(file, key)
    if isinstance(found, kind):
        return found
    value = load()
    mesh = mesh_of(value)
    if mesh is not None and _inside_trees(mesh):
        _write(file, key, value)
    return value


def mesh_digest(root: Path, salt: bytes = b"") -> bytes:
    """SHA-256 over the spec trees' file names and contents, the project folder, the Python
    version, the platform's source and ``salt``."""
    digest = hashlib.sha256(_FORMAT + b"\0" + salt)
    digest.update(str(root.resolve()).encode())
    digest.update(sys.version.encode())
    for library in _LIBRARIES:
        try:
            digest.update(f"{library}=={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library} missing".encode())
    for path in sorted(_CODE.rglob("*.py")):
        _add(digest, path.relative_to(_CODE).as_posix(), path)
    for tree in _TREES:
        for path in _files(root / tree):
            _add(digest, path.relative_to(root).as_posix(), path)
    return digest.digest()


def _add(digest: hashlib._Hash, name: str, path: Path) -> None:
    digest.update(b"\0" + name.encode("utf-8", "surrogateescape") + b"\0")
    try:
        digest.update(path.read_bytes())
    except OSError as exc:  # unreadable: the loader reports it; the key just records that
        digest.update(f"unreadable: {exc.errno}".encode())


def _files(folder: Path) -> Iterator[Path]:
    """Every file under ``folder``, in a stable order, following links as the loader's globs do."""
    for directory, folders, files in os.walk(folder, followlinks=True):
        folders.sort()
        for name in sorted(files):
            yield Path(directory) / name


def _inside_trees(mesh: Mesh) -> bool:
    trees = [(mesh.root / tree).resolve() for tree in _TREES]
    trees += [mesh.root / tree for tree in _TREES if mesh.root / tree not in trees]
    paths: list[Path] = []
    for product in mesh.products.values():
        paths.append(product.file)
        for port in product.ports.values():
            paths += [port.contract_file, port.transform_file]
    for raw in mesh.raw_sources.values():
        paths.append(raw.file)
        if raw.source.contract is not None:
            paths.append(raw.file.parent / str(raw.source.contract))
        if raw.generator_file is not None:
            paths.append(raw.generator_file)
    paths += [spec.file for spec in mesh.agreements.values()]
    return all(_inside(path, trees) for path in paths)


def _inside(path: Path, trees: list[Path]) -> bool:
    """Whether the digest reads ``path``: a path under a tree as written (no ``..``) is walked
    by the digest under that name, links followed, as the loader opens it; any other is resolved
    first (resolving each of a large mesh's 9,000 paths took a second and a half)."""
    lexical = ".." not in path.parts and path.is_absolute()
    if lexical and any(path.is_relative_to(tree) for tree in trees):
        return True
    return any(path.resolve().is_relative_to(tree) for tree in trees)


def _read(file: Path, key: bytes) -> object:
    try:
        with file.open("rb") as stream:
            if stream.read(len(key)) != key:
                return None
            with _collector_paused():
                return pickle.load(stream)
    except Exception:  # missing, truncated, or pickled by code that no longer exists: a miss
        return None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic collector off while a mesh is unpickled: its hundreds of thousands of new
    objects set off collection after collection, all finding nothing (a large mesh's 10 MB read
    in 0.18 s instead of 0.45 s, in every process that reuses the cache)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _write(file: Path, key: bytes, value: object) -> None:
    """Written beside and renamed over: a reader sees the old file or the new one, never half."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(key)
                pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, file)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # a read-only state folder: the next process loads the specs again
