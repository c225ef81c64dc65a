#!/usr/bin/env bash
# Measures, without a Docker engine, what each image target adds on top of the python base image:
# for every service it repeats the Dockerfile's builder steps in a fresh venv
# (/tmp/img-<service>): upgrade pip, `pip install '.[<service>]'` (not editable, no pip cache),
# for the compiler the process definitions vendored first (scripts/vendor_process_definitions.py), compileall. It prints the venv's size (du) and the time
# the steps took, then imports, inside that venv and outside the checkout, every first-party
# module the service reaches from `<package>.__main__` and every third-party module those import
# (the list comes from tests/deploy/service_deps.py), so a group that lacks something fails here.
# The venvs are deleted afterwards. Usage: scripts/measure_service_layers.sh [service...]
# Env: PYTHON (the interpreter to create the venvs with; default python3), ANALYSIS_PYTHON (an
# interpreter with `packaging` and the dev install, default .venv/bin/python).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
ANALYSIS_PYTHON="${ANALYSIS_PYTHON:-$ROOT/.venv/bin/python}"
SERVICES=("$@")
(( ${#SERVICES[@]} )) || SERVICES=(gateway compiler executor tiles store emulator)

declare -A PACKAGE=([gateway]=gateway [compiler]=compiler_svc [executor]=executor_svc
                    [tiles]=tiles_svc [store]=store_svc [emulator]=sentinelhub_emulator)

# setuptools builds the wheel inside the checkout: remove its build/ and *.egg-info afterwards
# unless they were there before.
cleanup=()
for d in "$ROOT/build" "$ROOT/openeo_sentinelhub_backend.egg-info"; do
  [[ -e "$d" ]] || cleanup+=("$d")
done
trap 'rm -rf "${cleanup[@]}"' EXIT

printf "%-9s %8s %9s  %s\n" service size seconds imports
for svc in "${SERVICES[@]}"; do
  pkg="${PACKAGE[$svc]}"
  venv="/tmp/img-$svc"
  rm -rf "$venv"
  start=$(date +%s.%N)
  "$PYTHON" -m venv "$venv"
  (
    export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_QUIET=1
    cd "$ROOT"
    "$venv/bin/pip" install --upgrade "pip>=24"
    if [[ "$svc" == compiler ]]; then  # as the Dockerfile's compiler stage: data into the package first
      "$ANALYSIS_PYTHON" scripts/vendor_process_definitions.py
    fi
    "$venv/bin/pip" install ".[$svc]"
    "$venv/bin/python" -m compileall -q "$venv/lib" >/dev/null
  )
  end=$(date +%s.%N)
  size="$(du -sh "$venv" | cut -f1)"
  seconds="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')"
  # the modules to import: computed from the checkout with the analysis interpreter
  modules="$(cd "$ROOT" && "$ANALYSIS_PYTHON" -c "
from tests.deploy.service_deps import INDIRECT, runtime_modules
# the indirect requirements are importable modules of the same name
print(' '.join(runtime_modules('$pkg') + sorted(INDIRECT.get('$svc', ()))))")"
  # from / so that the installed wheel is imported, not the checkout
  if (cd / && "$venv/bin/python" -c "
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
if 'compiler_svc' in sys.argv:
    # the process definitions are package data of the compiler
    from compiler_svc.process_specs import all_definitions
    assert len(all_definitions()) > 100, 'process definitions missing'
print(len(sys.argv) - 1)" $modules >"$venv.imports" 2>&1); then
    result="ok ($(cat "$venv.imports") modules)"
  else
    result="FAILED: $(tail -n 1 "$venv.imports")"
  fi
  printf "%-9s %8s %9s  %s\n" "$svc" "$size" "$seconds" "$result"
  rm -rf "$venv" "$venv.imports"
done
