# The governance service alone: meshlake-governance and its locked dependencies, no Spark, no Java,
# no Dagster (the package installs alone: tests/test_install_alone.py). Build from the repository root:
#   docker build -f infra/deploy/docker/governance.Dockerfile -t meshlake/governance:0.1.0 .

# Stage 1: resolve and install from uv.lock into /app/.venv (non-editable, so the runtime stage
# needs only the environment, not the sources).
FROM python:3.11.14-slim-bookworm AS build
ENV UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
# Every workspace member's metadata is needed to read the lock; only governance (and the platform
# core it imports, without its spark extra) is installed.
COPY pyproject.toml uv.lock README.md ./
COPY platform/ platform/
COPY governance/ governance/
COPY orchestration/pyproject.toml orchestration/pyproject.toml
RUN uv sync --frozen --no-dev --no-editable --package meshlake-governance

# Stage 2: the runtime, the same Python as the build (the environment links to it), a non-root user.
FROM python:3.11.14-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 meshlake \
    && useradd --system --uid 10001 --gid meshlake --home-dir /var/lib/meshlake --create-home meshlake
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MESHLAKE_HOME=/var/lib/meshlake \
    MESHLAKE_LOG_FORMAT=json
USER 10001:10001
WORKDIR /var/lib/meshlake
EXPOSE 8686
# Readiness: 200 once the database answers at the migrations' head (see the README's probes).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8686/readyz', timeout=4)"]
# MESHLAKE_DATABASE_URL must name PostgreSQL for more than one worker (SQLite refuses --workers > 1).
CMD ["meshlake", "governance", "serve", "--host", "0.0.0.0", "--port", "8686", "--workers", "2", "--log-format", "json"]
