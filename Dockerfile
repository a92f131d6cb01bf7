# The sagalab image: every sagalab process (a service, the orchestrator, the scenario runner) runs from the
# `lab` stage; the `tests` stage adds the test extras, Chromium and the test suite.
#
#   docker build --target lab -t sagalab .          (docker compose builds both for you)
#   docker build --target tests -t sagalab-tests .
#
# Needs BuildKit (the default builder since Docker 23) or podman 4: the wheel is bind-mounted from the build
# stage, so it never becomes a layer of the final image.
#
# PYTHON_IMAGE is the base of every stage: the public python:3.11-slim by default; on a machine that reaches no
# image registry, the stand-in scripts/local-images.sh builds from Debian's packages
# (--build-arg PYTHON_IMAGE=localhost/sagalab-python:3.11-slim; `make containers` does it for you).
ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: a wheel of the project, built from pyproject.toml ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY choreography ./choreography
COPY orchestration ./orchestration
COPY shared ./shared
COPY scenarios ./scenarios
COPY sagalab ./sagalab
RUN pip wheel --no-deps --wheel-dir /wheels .

# ---- lab: the wheel and its runtime dependencies, run as a non-root user ----
FROM ${PYTHON_IMAGE} AS lab
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# The directories compose mounts named volumes on exist here, owned by sagalab: a fresh named volume takes
# the owner of the directory it is first mounted on, so the non-root services can write their databases.
# /data is a service's own volume; /stack/<mode>/<service> is where the scenario runner sees each of them.
RUN useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin sagalab \
    && install -d -o sagalab -g sagalab /app /app/.sagalab /data \
        /stack/choreography/orders /stack/choreography/payment \
        /stack/choreography/inventory /stack/choreography/shipping \
        /stack/orchestration/orchestrator /stack/orchestration/payment \
        /stack/orchestration/inventory /stack/orchestration/shipping
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir /wheels/*.whl
WORKDIR /app
USER sagalab
ENTRYPOINT ["sagalab"]
CMD ["scenarios"]

# ---- tests: the lab image plus the test extras, Debian's Chromium (the report's browser test) and the suite ----
FROM lab AS tests
USER root
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium \
    && rm -rf /var/lib/apt/lists/*
# The wheel is copied here, not bind-mounted as in `lab`: podman 4.3's builder mounts a stage only once per build
# ("couldn't find .../merged/wheels"), and a few hundred kilobytes do not matter in the test image.
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir "$(ls /tmp/wheels/*.whl)[test]" && rm -rf /tmp/wheels
# The suite reads the source tree as well as importing the package (architecture checks, docs/schemas,
# pytest's settings in pyproject.toml, the compose file and this Dockerfile).
COPY --chown=sagalab:sagalab pyproject.toml README.md Dockerfile .dockerignore docker-compose.yml .env.example ./
COPY --chown=sagalab:sagalab choreography ./choreography
COPY --chown=sagalab:sagalab orchestration ./orchestration
COPY --chown=sagalab:sagalab shared ./shared
COPY --chown=sagalab:sagalab scenarios ./scenarios
COPY --chown=sagalab:sagalab sagalab ./sagalab
COPY --chown=sagalab:sagalab docs ./docs
COPY --chown=sagalab:sagalab tests ./tests
COPY --chown=sagalab:sagalab examples ./examples
# the peer engine's bench assets and the cluster's broker configuration, which unit tests read
COPY --chown=sagalab:sagalab scripts ./scripts
USER sagalab
ENTRYPOINT ["pytest"]
CMD []
