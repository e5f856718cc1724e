# The platform image: Java 17, Spark (from the pyspark wheel), Delta, Dagster and the whole workspace
# with the project's specs. One image runs the Dagster webserver, the Dagster daemon (and the runs it
# launches), and a standalone Spark master and workers (spark-class). Build from the repository root:
#   docker build -f infra/deploy/docker/platform.Dockerfile -t meshlake/platform:0.1.0 .

# Stage 1: the locked environment, with the deploy group (dagster-postgres for the instance on
# PostgreSQL), installed non-editable into /app/.venv.
FROM python:3.11.14-slim-bookworm AS build
ENV UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY platform/ platform/
COPY governance/ governance/
COPY orchestration/ orchestration/
RUN uv sync --frozen --no-dev --group deploy --no-editable

# Stage 2: the runtime: Java 17 for Spark, the environment, the project's specs (MESHLAKE_PROJECT is
# the folder holding infra/landing-zones/), a non-root user.
FROM python:3.11.14-slim-bookworm AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 meshlake \
    && useradd --system --uid 10001 --gid meshlake --home-dir /var/lib/meshlake --create-home meshlake
COPY --from=build /app/.venv /app/.venv
WORKDIR /app
COPY infra/landing-zones/ infra/landing-zones/
COPY domains/ domains/
COPY governance/policies/ governance/policies/
COPY --chown=10001:10001 infra/deploy/dagster/ /opt/dagster/
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MESHLAKE_PROJECT=/app \
    MESHLAKE_HOME=/var/lib/meshlake \
    DAGSTER_HOME=/opt/dagster/home \
    SPARK_NO_DAEMONIZE=1
USER 10001:10001
EXPOSE 3000 7077 8080 8081
# The default process is the Dagster webserver; compose and the chart pick the daemon or Spark.
CMD ["dagster-webserver", "--host", "0.0.0.0", "--port", "3000", "--workspace", "/opt/dagster/workspace.yaml"]
