# syntax=docker/dockerfile:1
# One image for every component; the Kubernetes manifests pick the process with `command`:
#   python -m gateway | compiler_svc | executor_svc | tiles_svc | store_svc | sentinelhub_emulator
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- builder: resolve and install the project into a self-contained venv -------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Only what the build needs (.dockerignore keeps the rest out of the context).
COPY . .
RUN pip install --upgrade "pip>=24" \
    && pip install . \
    && pip install --no-deps "openeo-driver==0.136.0a4" \
    && python -m compileall -q /opt/venv/lib

# ---- runtime: same base, no build context, unprivileged ------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="openeo-sentinelhub-backend" \
      org.opencontainers.image.description="openEO API backend for Sentinel Hub (gateway + gRPC services)" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 openeo \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/openeo --create-home \
       --shell /usr/sbin/nologin openeo
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/openeo \
    TMPDIR=/tmp
WORKDIR /home/openeo
# Numeric user so runAsNonRoot can verify it without resolving names.
USER 10001:10001
EXPOSE 8080 50051 50052 50053 50054 8090
# Default component; override per Deployment (`command:`) or `docker run IMAGE python -m store_svc`.
CMD ["python", "-m", "gateway"]
