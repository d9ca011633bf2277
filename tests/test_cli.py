"""The CLI is a thin layer: commands listed, and user errors are one line on stderr with no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "commentminer.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("commentminer: error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_help_lists_every_command():
    result = cli("--help")
    assert result.returncode == 0
    for command in ("run", "ingest", "analyse", "report"):
        assert command in result.stdout
    assert "--out" in cli("run", "--help").stdout and "--db" in cli("report", "--help").stdout


def test_importing_the_package_does_not_import_heavy_libraries():
    code = "import sys, commentminer, commentminer.cli; print(sorted(m for m in ('torch','spacy','bertopic','sentence_transformers','pandas','duckdb') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


def test_unknown_config_key(tmp_path):
    line = _one_line_error(cli("ingest", str(tmp_path), "--db", str(tmp_path / "x.duckdb"), "--set", "themes.colour=red"))
    assert "unknown config key 'themes.colour'" in line


def test_unreadable_file_names_the_file(tmp_path):
    line = _one_line_error(cli("run", str(FIXTURES / "bad_input" / "binary.txt"), "--out", str(tmp_path), "-q"))
    assert "binary.txt" in line and "no readable articles" in line


def test_missing_model_says_how_to_get_it(tmp_path, seeds_dir):
    db = tmp_path / "s.duckdb"
    assert cli("ingest", str(seeds_dir), "--db", str(db), "-q").returncode == 0
    line = _one_line_error(cli("analyse", "--db", str(db), "-q", "--set", f"embed.model_path='{tmp_path / 'nomodel'}'"))
    assert "nomodel: embedding model not found" in line and "make model" in line


def test_missing_store(tmp_path):
    line = _one_line_error(cli("report", "--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path)))
    assert "none.duckdb: store not found" in line
