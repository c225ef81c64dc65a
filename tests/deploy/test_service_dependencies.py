"""Each image installs one pyproject dependency group (Dockerfile target = group = service): the
group must provide every third-party module the service imports, and the light services must not
pull in the raster stack. Checked statically (see service_deps.py), against the distributions
installed in the dev environment."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.deploy import service_deps as sd

PROJECT = sd.Project.load(sd.PYPROJECT)

# What makes an image heavy: numpy and everything built on it, GDAL and the geodesy libraries.
RASTER_STACK = {"numpy", "pandas", "xarray", "scipy", "rasterio", "gdal", "affine", "pyproj",
                "shapely", "tifffile", "imagecodecs", "h5py", "h5netcdf", "netcdf4", "sentinelhub"}
LIGHT_SERVICES = ["gateway", "store"]


def raster_stack_in(distributions: set[str]) -> set[str]:
    return distributions & RASTER_STACK


def group_closure(group: str, project: sd.Project = PROJECT) -> set[str]:
    return sd.installed_closure(project.requirements(group))


# ---- the real services -----------------------------------------------------------------------

@pytest.mark.parametrize("group", sorted(sd.SERVICES))
def test_group_provides_every_import_of_its_service(group: str) -> None:
    package = sd.SERVICES[group]
    first_party, third_party = sd.repo_tree().closure({f"{package}.__main__"})
    # the image holds the wheel: a service must not reach code the wheel does not ship
    assert {m.split(".")[0] for m in first_party} <= sd.wheel_packages()
    assert package in {m.split(".")[0] for m in first_party}
    missing = sd.missing_from_group(third_party, group_closure(group))
    assert not missing, (f"{package} imports modules that `pip install '.[{group}]'` does not install "
                         f"(import name -> providing distributions): {missing}")


@pytest.mark.parametrize("group", sorted(sd.SERVICES))
def test_every_module_of_a_service_is_checked(group: str) -> None:
    """A module the entry point does not reach is not checked above: only the listed build-time
    tools may be such modules, so new code cannot slip past the check by being unreachable."""
    package = sd.SERVICES[group]
    tree = sd.repo_tree()
    reached, _ = tree.closure({f"{package}.__main__"})
    unreached = tree.package_modules(package) - reached
    exempt = {m for m in sd.NOT_AT_RUNTIME if m.split(".")[0] == package}
    assert unreached == exempt, "modules the service never imports must be listed in NOT_AT_RUNTIME"


def test_indirect_requirements_are_in_their_groups() -> None:
    for group, distributions in sd.INDIRECT.items():
        assert distributions <= group_closure(group), group


@pytest.mark.parametrize("group", LIGHT_SERVICES)
def test_light_services_have_no_raster_stack(group: str) -> None:
    closure = group_closure(group)
    assert "grpcio" in closure  # the closure really was computed
    assert not raster_stack_in(closure), f"the {group} image would install {raster_stack_in(closure)}"


def test_core_dependencies_are_what_every_service_shares() -> None:
    core = sd.installed_closure(PROJECT.requirements(None))
    assert not raster_stack_in(core)
    assert {"aiohttp", "motor", "pymongo", "aiobotocore"}.isdisjoint(core)


def test_dev_group_installs_everything() -> None:
    """`pip install -e '.[dev]'` (make setup) runs the whole stack and every tool: it includes each
    service group and covers the imports of every first-party module, also the ones no service
    runs (devstack, oidc_test_provider, build-time tools)."""
    dev = group_closure("dev")
    for group in sd.SERVICES:
        assert group_closure(group) <= dev, group
    tree = sd.repo_tree()
    modules = set().union(*(tree.package_modules(p) for p in tree.packages))
    _, third_party = tree.closure(modules)
    assert not sd.missing_from_group(third_party, dev)


# ---- the check itself, on a synthetic project ------------------------------------------------

def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def synthetic(tmp_path: Path) -> sd.SourceTree:
    """`svc` runs `python -m svc`; its worker module lazily imports numpy inside a function and
    uses the shared package `common`, which imports structlog; `svc.tool` is never imported."""
    _write(tmp_path, {
        "common/__init__.py": "",
        "common/log.py": "import structlog\n",
        "svc/__init__.py": "",
        "svc/__main__.py": "from . import worker\nfrom common import log\n",
        "svc/worker.py": """\
            import json

            def run():
                import numpy as np
                return np.zeros(1)
            """,
        "svc/tool.py": "import rasterio\n",
    })
    return sd.SourceTree(tmp_path, frozenset({"common", "svc"}))


def _project(groups: dict[str, list[str]]) -> sd.Project:
    return sd.Project("demo-project", ["structlog"], groups)


def test_scan_follows_lazy_relative_and_shared_imports(synthetic: sd.SourceTree) -> None:
    reached, third_party = synthetic.closure({"svc.__main__"})
    assert {"svc", "svc.__main__", "svc.worker", "common", "common.log"} <= reached
    assert "svc.tool" not in reached
    assert third_party == {"numpy", "structlog"}  # json is stdlib


def test_check_fails_when_a_service_imports_what_its_group_lacks(synthetic: sd.SourceTree) -> None:
    _, third_party = synthetic.closure({"svc.__main__"})
    lacking = _project({"svc": ["aiohttp"]})
    provided = sd.installed_closure(lacking.requirements("svc"))
    assert sd.missing_from_group(third_party, provided) == {"numpy": {"numpy"}}
    # numpy arriving transitively (xarray requires it) is enough
    enough = _project({"svc": ["xarray"]})
    assert sd.missing_from_group(third_party, sd.installed_closure(enough.requirements("svc"))) == {}


def test_check_reports_imports_no_installed_distribution_provides() -> None:
    assert sd.missing_from_group({"surely_not_an_installed_module"}, {"numpy"}) == {
        "surely_not_an_installed_module": set()}


def test_self_referencing_groups_expand(synthetic: sd.SourceTree) -> None:
    project = _project({"svc": ["numpy"], "dev": ["demo_project[svc]", "pytest"]})
    names = {r.name for r in project.requirements("dev")}
    assert names == {"structlog", "numpy", "pytest"}


def test_raster_check_catches_a_transitive_raster_stack() -> None:
    heavy = _project({"light": ["aiohttp", "xarray"]})
    assert {"numpy", "pandas", "xarray"} <= raster_stack_in(
        sd.installed_closure(heavy.requirements("light")))


def test_a_group_with_an_uninstalled_distribution_cannot_be_judged() -> None:
    with pytest.raises(LookupError):
        sd.installed_closure(_project({"x": ["surely-not-an-installed-distribution"]}).requirements("x"))
