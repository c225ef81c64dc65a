from __future__ import annotations

import pytest

from tests.availability import unavailable
from tests.deploy import k8s_model as m

_cache: dict[str, m.Render] = {}


def _require(*tools: str) -> None:
    missing = [t for t in tools if m.tool(t) is None]
    if missing:
        unavailable(f"{', '.join(missing)} not installed: run scripts/install_k8s_tools.sh")


def _render(name: str) -> m.Render:
    if name not in _cache:
        kind, _, variant = name.partition("-")
        if kind == "kustomize":
            _require("kubectl")
            _cache[name] = m.render_kustomize(variant)
        else:
            _require("helm")
            _cache[name] = m.render_helm(variant, m.helm_value_sets()[variant])
    return _cache[name]


RENDER_NAMES = [f"kustomize-{o}" for o in m.overlays()] + [f"helm-{v}" for v in m.helm_value_sets()]


@pytest.fixture(params=RENDER_NAMES)
def render(request: pytest.FixtureRequest) -> m.Render:
    """Every kustomize overlay and the Helm chart with every values set, rendered once per session."""
    return _render(request.param)


@pytest.fixture
def render_by_name():
    return _render
