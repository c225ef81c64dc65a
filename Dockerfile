# syntax=docker/dockerfile:1
# One image per component, each with only the libraries that component imports (the
# pyproject.toml optional-dependency group of the same name; tests/deploy/
# test_service_dependencies.py checks the groups against the code). Build one with its target:
#   docker build --target gateway  -t openeo-sentinelhub/gateway:0.1.0 .
# Targets: gateway, compiler, executor, tiles, store, emulator (dev/test clusters only).
# Every image runs its component by default (CMD); the Kubernetes manifests also set `command`.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- builders: resolve and install one group each into a self-contained venv ---------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN pip install --upgrade "pip>=24"
WORKDIR /src
# Only what the build needs (.dockerignore keeps the rest out of the context).
COPY . .
# Each build stage installs the checkout with one group: "/src[<group>]". (An absolute path, so
# hadolint's DL3013 sees a local project, not an unpinned package as it does for ".[<group>]".)

FROM builder AS build-gateway
RUN pip install "/src[gateway]" && python -m compileall -q /opt/venv/lib

FROM builder AS build-compiler
# The official openEO process definitions (their source is declared in pyproject.toml) are copied
# into the compiler package as data before it is built, so they travel in its wheel.
RUN python /src/scripts/vendor_process_definitions.py \
    && pip install "/src[compiler]" \
    && python -m compileall -q /opt/venv/lib

FROM builder AS build-executor
RUN pip install "/src[executor]" && python -m compileall -q /opt/venv/lib

FROM builder AS build-tiles
RUN pip install "/src[tiles]" && python -m compileall -q /opt/venv/lib

FROM builder AS build-store
RUN pip install "/src[store]" && python -m compileall -q /opt/venv/lib

FROM builder AS build-emulator
RUN pip install "/src[emulator]" && python -m compileall -q /opt/venv/lib

# ---- runtime: same base, no build context, unprivileged ------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 openeo \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/openeo --create-home \
       --shell /usr/sbin/nologin openeo
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/openeo \
    TMPDIR=/tmp
WORKDIR /home/openeo
# Numeric user so runAsNonRoot can verify it without resolving names. The venv stays owned by
# root: the service cannot modify its own code.
USER 10001:10001

FROM runtime AS compiler
LABEL org.opencontainers.image.title="openeo-sentinelhub-compiler" \
      org.opencontainers.image.description="openEO Sentinel Hub backend: process graph validation and planning (gRPC)"
COPY --from=build-compiler /opt/venv /opt/venv
EXPOSE 50051
CMD ["python", "-m", "compiler_svc"]

FROM runtime AS executor
LABEL org.opencontainers.image.title="openeo-sentinelhub-executor" \
      org.opencontainers.image.description="openEO Sentinel Hub backend: execution and batch workers (gRPC)"
COPY --from=build-executor /opt/venv /opt/venv
EXPOSE 50052
CMD ["python", "-m", "executor_svc"]

FROM runtime AS tiles
LABEL org.opencontainers.image.title="openeo-sentinelhub-tiles" \
      org.opencontainers.image.description="openEO Sentinel Hub backend: XYZ map tiles (gRPC)"
COPY --from=build-tiles /opt/venv /opt/venv
EXPOSE 50053
CMD ["python", "-m", "tiles_svc"]

FROM runtime AS store
LABEL org.opencontainers.image.title="openeo-sentinelhub-store" \
      org.opencontainers.image.description="openEO Sentinel Hub backend: persistent state in MongoDB (gRPC)"
COPY --from=build-store /opt/venv /opt/venv
EXPOSE 50054
CMD ["python", "-m", "store_svc"]

FROM runtime AS emulator
LABEL org.opencontainers.image.title="openeo-sentinelhub-emulator" \
      org.opencontainers.image.description="Sentinel Hub API emulator for dev and test clusters (not for production)"
COPY --from=build-emulator /opt/venv /opt/venv
EXPOSE 8090
CMD ["python", "-m", "sentinelhub_emulator", "--host", "0.0.0.0", "--port", "8090"]

# Last, so that a plain `docker build .` (no --target) still gives the gateway, as it did when
# there was one image.
FROM runtime AS gateway
LABEL org.opencontainers.image.title="openeo-sentinelhub-gateway" \
      org.opencontainers.image.description="openEO Sentinel Hub backend: the openEO REST API (HTTP)"
COPY --from=build-gateway /opt/venv /opt/venv
EXPOSE 8080
CMD ["python", "-m", "gateway"]
