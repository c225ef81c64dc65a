"""scripts/vendoring.py, the download / check / stage / replace part both vendoring scripts share."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))  # the scripts import it as a sibling, as when they run
import vendoring  # noqa: E402


def test_declared_and_recorded(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.openeo-backend.things]\nversion = "1.0"\nfolders = ["a"]\n')
    assert vendoring.declared("things", pyproject) == {"version": "1.0", "folders": ["a"]}
    assert vendoring.recorded(tmp_path / "absent") is None
    (tmp_path / vendoring.STAMP).write_text("{truncated")
    assert vendoring.recorded(tmp_path) is None
    (tmp_path / vendoring.STAMP).write_text('{"version": "1.0"}')
    assert vendoring.recorded(tmp_path) == {"version": "1.0"}


def test_a_file_with_another_hash_is_refused(tmp_path):
    path = tmp_path / "x.whl"
    path.write_bytes(b"not the declared file")
    vendoring.check_hash(path, hashlib.sha256(b"not the declared file").hexdigest())
    with pytest.raises(SystemExit, match="is not the declared"):
        vendoring.check_hash(path, "0" * 64)


@pytest.fixture
def fake_pip(monkeypatch):
    """pip download replaced by one that writes the given files into --dest (no registry in a unit test)."""
    calls, files = [], {}

    def run(cmd, check):
        calls.append(cmd)
        dest = Path(cmd[cmd.index("--dest") + 1])
        dest.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (dest / name).write_bytes(content)

    monkeypatch.setattr(vendoring.subprocess, "run", run)
    return calls, files


def test_download_takes_the_one_pinned_file_of_the_kind_asked(tmp_path, fake_pip):
    calls, files = fake_pip
    files["d-1.0.tar.gz"] = b"sdist"
    source = {"distribution": "d", "version": "1.0", "sha256": hashlib.sha256(b"sdist").hexdigest()}
    assert vendoring.download(source, tmp_path / "a", "sdist") == tmp_path / "a" / "d-1.0.tar.gz"
    assert "--no-deps" in calls[0] and "--no-binary=:all:" in calls[0] and calls[0][-1] == "d==1.0"
    files["d-1.0-py3-none-any.whl"] = b"wheel"
    with pytest.raises(SystemExit, match="is not the declared"):
        vendoring.download(source, tmp_path / "b", "wheel")
    assert "--only-binary=:all:" in calls[1]
    files["d-1.0-py2-none-any.whl"] = b"other"
    with pytest.raises(SystemExit, match="expected one wheel of d"):
        vendoring.download(source, tmp_path / "c", "wheel")


def test_replacing_swaps_the_whole_folder_in_only_on_success(tmp_path):
    target = tmp_path / "target"
    (target / "old").mkdir(parents=True)
    (target / "old" / "dropped.json").write_text("{}")
    with pytest.raises(SystemExit):
        with vendoring.replacing(target, {"v": 2}, prefix="t-") as (scratch, staging):
            (staging / "half.json").write_text("{}")
            raise SystemExit("the source lacks a file")
    assert sorted(p.name for p in target.rglob("*")) == ["dropped.json", "old"]
    with vendoring.replacing(target, {"v": 2}, prefix="t-") as (scratch, staging):
        assert scratch.is_dir() and scratch != staging
        (staging / "new.json").write_text("{}")
    assert sorted(p.name for p in target.rglob("*")) == ["SOURCE.json", "new.json"]
    assert vendoring.recorded(target) == {"v": 2}
    assert not scratch.exists()


def test_main_vendors_only_when_the_record_differs_and_check_reports_it(tmp_path, capsys):
    target = tmp_path / "target"
    declaration = {"version": "2.0"}
    made = []

    def vendor(source, into):
        made.append(source)
        with vendoring.replacing(into, source, prefix="t-") as (_, staging):
            (staging / "a.json").write_text("{}")

    def run(*argv):
        return vendoring.main("vendor_x.py", "doc", target, lambda: declaration, vendor, list(argv))

    assert run("--check") == 1 and not made
    assert "does not match pyproject.toml: run python scripts/vendor_x.py" in capsys.readouterr().err
    assert run() == 0 and made == [declaration]
    assert run("--check") == 0 and run() == 0 and len(made) == 1  # up to date: nothing done
    declaration = {"version": "3.0"}
    assert run("--check") == 1 and run() == 0 and made[-1] == {"version": "3.0"}
