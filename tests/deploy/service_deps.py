"""Static analysis behind the per-service images: which third-party distributions a service's
code imports, and which distributions its pyproject dependency group installs.

Nothing is imported or installed: the code is read with `ast`, import names are mapped to
distributions with importlib.metadata.packages_distributions() of the running (dev) environment,
and a group's closure follows the installed distributions' own `Requires-Dist` metadata.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement


def normalize(name: str) -> str:
    """PEP 503 name normalisation: `PyJWT`, `pyjwt` and `py_jwt` are the same distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


# ---- the import graph of the project's own code ---------------------------------------------

@dataclass
class SourceTree:
    """The first-party packages under `root` (a repository checkout or a synthetic test tree)."""

    root: Path
    packages: frozenset[str]  # first-party top-level package names
    _imports: dict[str, set[str]] = field(default_factory=dict)

    def module_file(self, module: str) -> Path | None:
        parts = module.split(".")
        if parts[0] not in self.packages:
            return None
        base = self.root.joinpath(*parts)
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                return candidate
        return None

    def package_modules(self, package: str) -> set[str]:
        """Every module of a first-party package, by dotted name."""
        result = set()
        pkg_dir = self.root / package
        for path in pkg_dir.rglob("*.py"):
            rel = path.relative_to(self.root).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            result.add(".".join(parts))
        return result

    def imports_of(self, module: str) -> set[str]:
        """Absolute names of everything `module` imports anywhere in its body, including the
        imports inside functions (lazy imports run too, just later) and relative imports."""
        if module in self._imports:
            return self._imports[module]
        path = self.module_file(module)
        assert path is not None, module
        is_package = path.name == "__init__.py"
        package_parts = module.split(".") if is_package else module.split(".")[:-1]
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = package_parts[: len(package_parts) - (node.level - 1)]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                names.add(base)
                # `from pkg import mod` imports the submodule pkg.mod when there is one
                names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        self._imports[module] = names
        return names

    def closure(self, entries: set[str]) -> tuple[set[str], set[str]]:
        """(first-party modules reached, top-level third-party names imported) from `entries`,
        following first-party imports transitively. Importing `a.b.c` runs a/__init__ and
        a/b/__init__ too, so parent packages are part of the closure."""
        seen: set[str] = set()
        third_party: set[str] = set()
        todo = list(entries)
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            for name in self.imports_of(module):
                top = name.split(".")[0]
                if top in self.packages:
                    parts = name.split(".")
                    for i in range(1, len(parts) + 1):
                        sub = ".".join(parts[:i])
                        if sub not in seen and self.module_file(sub) is not None:
                            todo.append(sub)
                elif top and top not in sys.stdlib_module_names and top != "__future__":
                    third_party.add(top)
        return seen, third_party


# ---- what a dependency group installs --------------------------------------------------------

@dataclass
class Project:
    """`[project]` of a pyproject.toml: core dependencies and optional-dependency groups."""

    name: str
    dependencies: list[str]
    groups: dict[str, list[str]]

    @classmethod
    def load(cls, pyproject: Path) -> "Project":
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        return cls(data["name"], list(data.get("dependencies", [])),
                   dict(data.get("optional-dependencies", {})))

    def requirements(self, group: str | None) -> list[Requirement]:
        """What `pip install '.[group]'` asks for (core + the group), with self-references such
        as `openeo-sentinelhub-backend[gateway]` (used by `dev`) expanded."""
        result: list[Requirement] = []
        todo = [None, group] if group else [None]
        done: set[str | None] = set()
        while todo:
            g = todo.pop()
            if g in done:
                continue
            done.add(g)
            for spec in self.dependencies if g is None else self.groups[g]:
                req = Requirement(spec)
                if normalize(req.name) == normalize(self.name):
                    todo.extend(req.extras)
                else:
                    result.append(req)
        return result


def installed_closure(requirements: list[Requirement]) -> set[str]:
    """Normalised names of the requested distributions and everything they require, read from
    the installed distributions' metadata (markers evaluated for this interpreter, with the
    extras that were requested). Raises LookupError for a required distribution that is not
    installed: then the dev environment is out of date and nothing can be concluded."""
    seen: dict[str, set[str]] = {}  # distribution -> extras already followed
    todo: list[tuple[str, frozenset[str]]] = [(r.name, frozenset(r.extras)) for r in requirements
                                             if r.marker is None or r.marker.evaluate({"extra": ""})]
    while todo:
        name, extras = todo.pop()
        key = normalize(name)
        if key in seen and extras <= seen[key]:
            continue
        seen.setdefault(key, set()).update(extras)
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            raise LookupError(f"{name} is required but not installed in {sys.prefix}") from None
        for spec in requires:
            req = Requirement(spec)
            if req.marker is not None:
                wanted = {""} | set(extras)
                if not any(req.marker.evaluate({"extra": e}) for e in wanted):
                    continue
            todo.append((req.name, frozenset(req.extras)))
    return set(seen)


def distributions_of(import_names: set[str]) -> dict[str, set[str]]:
    """Import name -> normalised names of the installed distributions that provide it."""
    mapping = md.packages_distributions()
    return {name: {normalize(d) for d in mapping.get(name, [])} for name in import_names}


def missing_from_group(third_party: set[str], provided: set[str]) -> dict[str, set[str]]:
    """Import names none of whose providing distributions is in `provided` (an import name no
    installed distribution provides is reported with an empty set)."""
    dists = distributions_of(third_party)
    return {name: ds for name, ds in sorted(dists.items()) if not ds & provided}


# ---- this repository ---------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"


def wheel_packages(pyproject: Path = PYPROJECT) -> frozenset[str]:
    """The top-level packages the wheel ships (`[tool.setuptools.packages.find] include`)."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    include = data["tool"]["setuptools"]["packages"]["find"]["include"]
    return frozenset(p.rstrip("*").rstrip(".") for p in include)


# Service -> (dependency group = image target, Python package run by `python -m`).
SERVICES = {
    "gateway": "gateway",
    "compiler": "compiler_svc",
    "executor": "executor_svc",
    "tiles": "tiles_svc",
    "store": "store_svc",
    "emulator": "sentinelhub_emulator",
}

# Distributions a service needs that its code never imports by name: found by the libraries at
# run time, so the import scan cannot see them.
INDIRECT = {
    # tifffile's DEFLATE/LZW/ZSTD codecs (small COGs), xarray's netCDF engine="h5netcdf"
    "executor": {"imagecodecs", "h5netcdf", "h5py"},
}

# Modules of a service package that the service never runs (not reachable from its __main__):
# each needs a reason. Their imports are checked against the dev group instead.
NOT_AT_RUNTIME = {
    # rebuilds compiler_svc/collections/data/*.json from sentinelhub-py's band tables (dev tool)
    "compiler_svc.collections.build_catalogue",
}


def repo_tree() -> SourceTree:
    # devstack is first-party too (the local stack, not shipped in the wheel)
    return SourceTree(ROOT, wheel_packages() | {"devstack"})


def runtime_modules(package: str) -> list[str]:
    """What a service imports when it runs: the first-party modules reached from
    `<package>.__main__` and the third-party top-level modules they import (also lazily)."""
    first_party, third_party = repo_tree().closure({f"{package}.__main__"})
    return sorted(first_party) + sorted(third_party)
