import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # the project is not necessarily pip-installed in the venv
    sys.path.insert(0, str(_ROOT))

import os  # noqa: E402

import pytest  # noqa: E402
import xarray as xr  # noqa: E402

from executor_svc.processes.registry import ProcessRegistry  # noqa: E402

#: chunk side of the chunked runs: smaller than the test cubes, so chunk borders are crossed
CHUNK = 2
_CHUNKED_DIMS = ("x", "y", "t")


def _chunked(value):
    if isinstance(value, xr.DataArray) and value.ndim and value.chunks is None:
        return value.chunk({d: CHUNK for d in value.dims if d in _CHUNKED_DIMS} or {value.dims[0]: CHUNK})
    return value


@pytest.fixture(autouse=True, params=["eager", "chunked"])
def cube_mode(request, monkeypatch):
    """Every process test runs twice: on numpy-backed cubes and on dask-backed cubes chunked
    smaller than the cube (each DataArray argument of a process is chunked before the call).
    In the chunked run, a process that computes its input (a whole-cube np.asarray) fails the test:
    the processes build dask graphs, the test's own `.values` computes them."""
    if request.param == "eager":
        yield "eager"
        return
    import dask

    original = ProcessRegistry.get

    from executor_svc.processes._arrays import computing_small

    def forbidden(graph, keys, **kwargs):
        if computing_small():  # a small result a process needs as values (processes/_arrays.py)
            return dask.get(graph, keys, **kwargs)
        raise AssertionError("a process computed a dask array (whole-cube np.asarray) instead of staying lazy")

    def get(self, process_id):
        fn = original(self, process_id)

        def lazy(args, ctx):
            args = {k: ([_chunked(v) for v in val] if isinstance(val, list) else _chunked(val))
                    for k, val in args.items()}
            if os.environ.get("CHUNKED_ALLOW_COMPUTE"):
                return fn(args, ctx)
            with dask.config.set(scheduler=forbidden):
                return fn(args, ctx)

        return lazy

    monkeypatch.setattr(ProcessRegistry, "get", get)
    yield "chunked"
