import json

import pytest

BBOX = {"west": 16.1, "south": 48.1, "east": 16.2, "north": 48.2}


def load(cid="SENTINEL2_L2A", bands=("B04", "B08"), extent=BBOX, temporal=("2021-06-01", "2021-07-01"), **kw):
    args = {"id": cid, "spatial_extent": extent, "temporal_extent": list(temporal) if temporal else None}
    if bands is not None:
        args["bands"] = list(bands)
    args.update(kw)
    return {"process_id": "load_collection", "arguments": args}


def save(src, fmt="GTiff", options=None):
    args = {"data": {"from_node": src}, "format": fmt, **({"options": options} if options is not None else {})}
    return {"process_id": "save_result", "arguments": args, "result": True}


def reducer(pid, **args):
    return {"process_graph": {"r": {"process_id": pid, "arguments": {"data": {"from_parameter": "data"}, **args}, "result": True}}}


def as_json(graph, **extra):
    return json.dumps({"process_graph": graph, **extra})


class FakeStore:
    def __init__(self, udps=None):
        self.udps = udps or {}
        self.calls = []

    async def __call__(self, udp_id):
        self.calls.append(udp_id)
        return self.udps.get(udp_id)


@pytest.fixture
def js():
    from py_mini_racer import MiniRacer

    ctx = MiniRacer()
    yield ctx
    ctx.close()
