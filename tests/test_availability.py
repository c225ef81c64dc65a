"""Missing requirements skip locally and fail in CI."""

from __future__ import annotations

import pytest
from _pytest.outcomes import Failed, Skipped

from tests import availability


def test_missing_document_skips_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(Skipped):
        availability.shared_doc("no/such/file.yaml")


def test_missing_document_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(Failed, match="no/such/file.yaml"):
        availability.shared_doc("no/such/file.yaml")


def test_present_document_is_found_relative_to_the_repository(monkeypatch, tmp_path):
    (tmp_path / "docs" / "x").mkdir(parents=True)
    (tmp_path / "docs" / "x" / "a.md").write_text("a")
    monkeypatch.setattr(availability, "SHARED_DOCS", tmp_path / "docs")
    assert availability.shared_doc("x/a.md") == tmp_path / "docs" / "x" / "a.md"
