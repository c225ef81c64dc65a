"""Plan templates (pure): verification by a second compiled tile, expiry, what cannot be moved."""

from __future__ import annotations

import json

from backend_proto.v1 import compiler_pb2
from tiles_svc.plan_templates import PlanTemplates, relocated

A = (0.0, 0.0, 100.0, 100.0)
B = (100.0, 0.0, 200.0, 100.0)
C = (200.0, 0.0, 300.0, 100.0)


def plan_for(bounds, *, graph_extra=None, epsg=3857, geometry="") -> compiler_pb2.ExecutionPlan:
    west, south, east, north = bounds
    graph = {"load": {"process_id": "load_collection", "arguments": {}}, **(graph_extra or {})}
    load = compiler_pb2.SentinelHubLoad(
        node_id="load", width=256, height=256, geometry_json=geometry,
        bbox=compiler_pb2.BoundingBox(west=west, south=south, east=east, north=north, epsg=epsg),
    )
    return compiler_pb2.ExecutionPlan(loads=[load], graph_json=json.dumps(graph))


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def test_relocated_moves_every_load_and_leaves_the_template_alone():
    template = plan_for(A)
    moved = relocated(template, B)
    assert moved == plan_for(B)
    assert template == plan_for(A)


def test_relocated_refuses_geometries_and_other_crs():
    assert relocated(plan_for(A, geometry='{"type": "Point"}'), B) is None
    assert relocated(plan_for(A, epsg=4326), B) is None


def test_template_is_used_only_after_a_second_tile_confirmed_it():
    templates = PlanTemplates()
    key = ("s", 1, 256, 10)
    assert templates.plan_for(key, A) is None
    templates.learn(key, A, plan_for(A))
    assert templates.plan_for(key, B) is None  # not verified yet
    templates.learn(key, B, plan_for(B))
    assert templates.plan_for(key, C) == plan_for(C)
    # a returned plan is a copy: changing it does not change the template
    got = templates.plan_for(key, C)
    got.output.format = "PNG"
    assert templates.plan_for(key, C).output.format == ""


def test_a_mismatch_disables_the_key_until_it_expires():
    clock = Clock()
    templates = PlanTemplates(max_age=60, clock=clock)
    key = ("s", 1, 256, 10)
    templates.learn(key, A, plan_for(A, graph_extra={"x": {"extent": list(A)}}))
    templates.learn(key, B, plan_for(B, graph_extra={"x": {"extent": list(B)}}))
    templates.learn(key, C, plan_for(C, graph_extra={"x": {"extent": list(C)}}))
    assert templates.plan_for(key, C) is None
    clock.now = 61
    templates.learn(key, A, plan_for(A))
    templates.learn(key, B, plan_for(B))
    assert templates.plan_for(key, C) == plan_for(C)


def test_verified_templates_expire():
    clock = Clock()
    templates = PlanTemplates(max_age=60, clock=clock)
    key = ("s", 1, 256, 10)
    templates.learn(key, A, plan_for(A))
    templates.learn(key, B, plan_for(B))
    assert templates.plan_for(key, C) is not None
    clock.now = 60
    assert templates.plan_for(key, C) is None
