"""Great Expectations Data Docs as links the Dagster UI opens.

The quality engine writes Data Docs as HTML files under the state folder. A browser does not open a
``file://`` link from an ``http://`` page, and Dagster shows a path only as text to copy, so the
links point at a small HTTP server that ``meshlake ui`` runs beside the webserver on 127.0.0.1
(port 3001 unless MESHLAKE_DATA_DOCS_URL says otherwise). It serves that folder only, nothing else
of the state folder (which holds the governance database and tokens).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

import dagster as dg

URL_VARIABLE = "MESHLAKE_DATA_DOCS_URL"
DEFAULT_PORT = 3001


def docs_folder(home: Path) -> Path:
    """Where the platform's quality engine writes Data Docs (``<state>/quality/data_docs``)."""
    return home / "quality" / "data_docs"


def docs_base_url() -> str:
    """The URL the Data Docs folder is served at: MESHLAKE_DATA_DOCS_URL, or port 3001."""
    return (os.environ.get(URL_VARIABLE) or f"http://127.0.0.1:{DEFAULT_PORT}").rstrip("/")


def data_docs_link(location: str, home: Path | None = None) -> dg.MetadataValue:
    """A Data Docs page as a link: an http(s) URL as it is; a local page under the state folder's
    Data Docs as its URL on the Data Docs server; any other file as a path to copy."""
    parsed = urlparse(location)
    if parsed.scheme != "file":
        return dg.MetadataValue.url(location)
    page = Path(unquote(parsed.path))
    if home is not None and page.is_relative_to(docs_folder(home)):
        relative = page.relative_to(docs_folder(home)).as_posix()
        return dg.MetadataValue.url(f"{docs_base_url()}/{quote(relative)}")
    return dg.MetadataValue.path(str(page))


@dataclass
class DocsServer:
    """The Data Docs server of ``meshlake ui``, serving in a daemon thread until stopped."""

    url: str
    _server: ThreadingHTTPServer

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged: the terminal belongs to the Dagster UI's output."""


def serve_data_docs(home: Path, port: int = DEFAULT_PORT) -> DocsServer:
    """Serve the Data Docs folder read-only on 127.0.0.1:``port`` (0 picks a free port)."""
    folder = docs_folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(_QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, name="meshlake-data-docs", daemon=True).start()
    return DocsServer(f"http://127.0.0.1:{server.server_address[1]}", server)
