"""Request counters exposed at /_emulator/stats."""
from __future__ import annotations

from collections import Counter, defaultdict


class Stats:
    def __init__(self):
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.pu_spent = 0.0
        self.pu_by_client: defaultdict[str, float] = defaultdict(float)
        self.tokens_issued = 0
        # /api/* calls per client (the token's `azp`) and status, e.g. {"demo-client": {"process 200": 3}};
        # refused tokens count under the client they claim to belong to
        self.api_calls_by_client: defaultdict[str, Counter[str]] = defaultdict(Counter)
        # Batch v2: task events (created, analysed, tile_renders, tiles_done, tile_attempts_failed, tiles_fatal,
        # tiles_skipped, stops) and renders per tile name over all tasks (a restart re-renders only some)
        self.batch: Counter[str] = Counter()
        self.batch_tile_renders: Counter[str] = Counter()
        # /api/* requests being answered right now (tests wait for 0 before they count)
        self.api_in_flight = 0
        # per deployment (main, uswest2, creodias, cdse): requests by endpoint and status, and the
        # collection types its Process API was asked for (what proves the executor's routing)
        self.requests_by_deployment: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.collections_by_deployment: defaultdict[str, Counter[str]] = defaultdict(Counter)
        # collection type -> the checked dataFilter/processing options of its latest Process API request
        # (tests recompute the world with them)
        self.last_options: dict[str, dict] = {}

    def record(self, endpoint: str, status: int, client: str | None = None, deployment: str = "main") -> None:
        self.requests[endpoint] += 1
        self.requests_by_deployment[deployment][f"{endpoint} {status}"] += 1
        self.statuses[f"{endpoint} {status}"] += 1
        if client is not None:
            self.api_calls_by_client[client][f"{endpoint} {status}"] += 1

    def as_dict(self) -> dict:
        return {"requests": dict(self.requests), "statuses": dict(self.statuses),
                "pu_spent": self.pu_spent, "pu_by_client": dict(self.pu_by_client),
                "tokens_issued": self.tokens_issued,
                "api_calls_by_client": {client: dict(calls) for client, calls in self.api_calls_by_client.items()},
                "api_in_flight": self.api_in_flight, "batch": dict(self.batch),
                "batch_tile_renders": dict(self.batch_tile_renders)}

    def deployments_dict(self) -> dict:
        """The per-deployment counters (part of /_emulator/stats)."""
        return {"requests_by_deployment": {d: dict(c) for d, c in self.requests_by_deployment.items()},
                "collections_by_deployment": {d: dict(c) for d, c in self.collections_by_deployment.items()},
                "last_options": self.last_options}

    def reset(self) -> None:
        in_flight = self.api_in_flight  # still being answered: they finish after the reset
        self.__init__()
        self.api_in_flight = in_flight
