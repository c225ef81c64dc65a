"""Issue 20: the API fuzzed with schemathesis against the official openEO 1.2.0 OpenAPI document,
with bounded, reproducible examples: no request, however odd, gets a 5xx.

Runs against a stack of its own (the fuzzer stores whatever it invents, e.g. user-defined
processes, which must not leak into other tests), logged in as the demo user."""

from __future__ import annotations

import openeo
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from devstack.stack import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Stack, StackConfig
from tests.availability import SHARED_DOCS, unavailable

pytestmark = pytest.mark.stack

#: examples per operation: enough to reach each operation's error paths, few enough for CI
EXAMPLES = 2


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    stack = Stack(StackConfig.free_ports(tmp_path_factory.mktemp("fuzz-stack"))).start()
    try:
        connection = openeo.connect(stack.gateway_url)
        connection.authenticate_basic(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        yield stack.gateway_url, {"Authorization": f"Bearer {connection.auth.bearer}"}
    finally:
        stack.stop()


OPENAPI = SHARED_DOCS / "openeo-api-1.2.0" / "openapi.yaml"

if OPENAPI.is_file():
    schema = schemathesis.openapi.from_path(OPENAPI)

    @schema.parametrize()
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def test_no_request_gets_a_server_error(case, fuzz_target):
        base_url, headers = fuzz_target
        response = case.call(base_url=base_url, headers=headers, timeout=60)
        assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text[:500])
else:
    def test_no_request_gets_a_server_error():
        unavailable(f"reference document {OPENAPI} not found")
