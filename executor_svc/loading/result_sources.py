"""The cubes of a plan's `load_result` sources (`ExecutionPlan.result_sources`), and of
`load_result` nodes whose arguments are computed inside the graph.

The sources are fetched before evaluation, together with the Sentinel Hub loads, and seed their
nodes. A computed `load_result` is fetched when the evaluator reaches it: `ResultLoads` is the
evaluation context's `load_result` hook, called in a pool thread, which waits for the fetch on
the service's event loop."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from backend_common.errors import OpenEOError


def _value(text: str) -> Any:
    return json.loads(text) if text else None


async def fetch_sources(loader, user, sources) -> dict[str, Any]:
    """{node id: cube} of the plan's result sources, fetched concurrently."""
    if not sources:
        return {}
    cubes = await asyncio.gather(*(
        loader.load(user, source.job_id, spatial_extent=_value(source.spatial_extent_json),
                    temporal_extent=_value(source.temporal_extent_json), bands=_value(source.bands_json))
        for source in sources))
    return {source.node_id: cube for source, cube in zip(sources, cubes)}


class ResultLoads:
    """`ExecutionContext.load_result` of one run, for `load_result` nodes computed in the graph."""

    def __init__(self, loader, user, loop: asyncio.AbstractEventLoop):
        self.loader = loader
        self.user = user
        self.loop = loop
        #: The OpenEOError of a load during evaluation (re-raised with its HTTP status).
        self.failure: OpenEOError | None = None

    def __call__(self, id, *, spatial_extent=None, temporal_extent=None, bands=None):
        """Called by the evaluator in a pool thread."""
        from executor_svc.processes.errors import ProcessError

        future = asyncio.run_coroutine_threadsafe(
            self.loader.load(self.user, id, spatial_extent=spatial_extent, temporal_extent=temporal_extent, bands=bands),
            self.loop,
        )
        try:
            return future.result()
        except OpenEOError as exc:
            self.failure = exc
            raise ProcessError(exc.code, exc.message) from None
