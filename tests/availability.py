"""What a test needs from outside its own code: reference documents and tools.

Locally a missing one skips the test with the reason; in CI (`CI=true`, as .ci/run is started)
every check must run, so the same absence fails the test instead of hiding it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: reference material (API specifications, ...) shared beside the repository: ../shared/docs/
SHARED_DOCS = ROOT.parent / "shared" / "docs"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip (locally) or fail (in CI) because something the test needs is missing."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing requirement fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def shared_doc(relative: str) -> Path:
    """A file of the shared reference documents (../shared/docs/ from the repository root)."""
    path = SHARED_DOCS / relative
    if not path.is_file():
        unavailable(f"reference document {path} not found")
    return path
