"""scripts/build_gazetteer.py rebuilds the shipped table byte for byte from ../shared/data."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_build_reproduces_shipped_table(shared_data, tmp_path):
    source = shared_data / "uk_gazetteer"
    out = tmp_path / "gazetteer.csv"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_gazetteer.py"), "--source", str(source), "--out", str(out)],
        capture_output=True, text=True, check=True,
    )
    shipped = resources.files("commentminer.regions").joinpath("data", "gazetteer.csv").read_bytes()
    built = out.read_bytes()
    assert built.count(b"\n") == shipped.count(b"\n")
    assert hashlib.sha256(built).hexdigest() == hashlib.sha256(shipped).hexdigest()
    n_rows = shipped.count(b"\n") - 1
    assert f"{n_rows} rows" in done.stdout
    # the build rules match the documented derived lookup exactly
    assert "only ours 0, only derived 0" in done.stdout


def test_build_rejects_a_wrong_folder(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_gazetteer.py"), "--source", str(tmp_path),
         "--out", str(tmp_path / "x.csv")],
        capture_output=True, text=True,
    )
    assert done.returncode == 2 and "not a gazetteer source folder" in done.stderr
