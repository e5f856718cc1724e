"""The service's log lines: text for people (the default), or one JSON object per line for collectors.

``meshlake governance serve --log-format json`` (or ``MESHLAKE_LOG_FORMAT=json``) hands uvicorn a
logging configuration whose every handler writes :class:`JsonFormatter` lines to stderr, in every
worker process (uvicorn applies ``log_config`` again in each one). Each request then adds one access
line (:func:`log_request`) with its request id, route template, status, duration and principal, so a
line can be joined to the ``X-Request-ID`` a client received.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]

ACCESS_LOGGER = "meshlake.governance.access"

# Fields a request adds to its access line (``extra=``), copied into the JSON object when present.
_REQUEST_FIELDS = ("request_id", "method", "route", "path", "status", "duration_ms", "principal")

_access = logging.getLogger(ACCESS_LOGGER)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601, ms), level, logger, message, pid, and the
    request fields the record carries; an exception's traceback as ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which worker, when there are several
        }
        for field in _REQUEST_FIELDS:
            value = record.__dict__.get(field)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def log_config(log_format: LogFormat, level: str = "INFO") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for uvicorn's and meshlake's loggers.

    Text keeps the quiet default (warnings and errors only, no access lines); JSON logs requests
    too, since collectors want them and they carry the request id.
    """
    if log_format == "json":
        formatter: dict[str, Any] = {"()": f"{__name__}.JsonFormatter"}
        chosen = level
    else:
        formatter = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
        chosen = "WARNING"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": chosen, "propagate": False},
            # uvicorn's own access lines lack the request id and route; ours replace them.
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            "meshlake": {"handlers": ["stderr"], "level": chosen, "propagate": False},
            ACCESS_LOGGER: {"handlers": ["stderr"], "level": chosen, "propagate": False},
        },
    }


def log_request(
    *,
    request_id: str | None,
    method: str,
    route: str,
    path: str,
    status: int,
    duration_ms: float,
    principal: str | None,
) -> None:
    """The access line of one request, at INFO whatever its status: a 5xx is the service's
    failure only sometimes (a shed request is the service working), and an embedded service with
    no logging set up must print nothing."""
    if not _access.isEnabledFor(logging.INFO):
        return
    _access.info(
        "%s %s %d %.1f ms",
        method,
        path,
        status,
        duration_ms,
        extra={
            "request_id": request_id,
            "method": method,
            "route": route,
            "path": path,
            "status": status,
            "duration_ms": round(duration_ms, 3),
            "principal": principal,
        },
    )
