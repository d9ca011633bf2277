"""`commentminer query` and `api.query`: tables printed from a store file, one-line errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest

from commentminer import api
from commentminer.store import Store
from fixtures.aggregate_store import BACKEND, RESOLVER, RUN_ID, build_aggregate_store


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("query") / "agg.duckdb"
    with Store(path) as store:
        build_aggregate_store(store)
    return path


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "commentminer.cli", "query", *args], capture_output=True,
                          text=True, timeout=120)


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("commentminer: error:"), result.stderr
    return lines[0]


def test_sentiment_table_is_printed_aligned(db):
    result = cli("sentiment", "--by", "region,quarter", "--db", str(db), "--min-commenters", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines[0].split()
    assert header[:5] == ["region", "quarter", "units", "comments", "commenters"] and header[-1] == "rank"
    rows = {tuple(line.split()[:2]): line for line in lines[1:6]}
    assert rows[("London", "2024-Q2")].split()[2:] == ["4", "2", "2", "+0.12", "[+0.00,", "+0.25]", "25%",
                                                       "[5%-70%]", "75%", "[30%-95%]", "1"]
    assert rows[("London", "2024-Q1")].split()[-1] == "2"
    assert lines[3].split()[:2] == ["North", "West"] and lines[3].rstrip().endswith("too few")
    assert len({len(line) for line in lines[:6]}) == 1                    # aligned: equal widths
    assert f"run {RUN_ID}; sentiment {BACKEND}; regions {RESOLVER}" in result.stdout
    assert "bootstrap" in result.stdout and "Wilson" in result.stdout


def test_theme_filter_level_and_csv_json_formats(db):
    csv = cli("sentiment", "--by", "region", "--theme", "Waiting Times", "--db", str(db), "--format", "csv")
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert list(frame.region) == ["London", "South West", "Unresolved"] and list(frame.n_units) == [5, 1, 1]
    assert {"mean_low", "mean_high", "negative_low", "positive_high", "too_few", "rank"} <= set(frame.columns)
    records = json.loads(cli("sentiment", "--by", "theme", "--level", "comment", "--db", str(db),
                             "--format", "json", "--min-commenters", "1").stdout)
    assert [r["theme"] for r in records] == ["waiting times", "Money matters", "(unthemed)"]
    assert records[0]["n_comments"] == 5 and records[0]["mean_score"] == pytest.approx(0.1)


def test_themes_list(db):
    result = cli("themes", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "Money matters" in result.stdout and "health services" in result.stdout


@pytest.mark.parametrize("args, expected", [
    (("sentiment", "--by", "region,fortnight"), "unknown dimension 'fortnight' (valid: theme, region, month, quarter, year, article, kind, voice)"),
    (("sentiment", "--theme", "nope"), "theme 'nope' not found in run run_agg (available: 10 health services; 0 waiting times; 1 Money matters"),
    (("sentiment", "--level", "sentence"), "unknown level 'sentence' (valid: unit, comment)"),
    (("sentiment", "--format", "xml"), "unknown format 'xml' (valid: table, csv, json)"),
    (("sentiment", "--run", "run_nope"), "run 'run_nope' not found"),
])
def test_errors_are_one_line(db, args, expected):
    assert expected in _one_line_error(cli(*args, "--db", str(db)))


def test_missing_store_is_one_line(tmp_path):
    assert "store not found" in _one_line_error(cli("sentiment", "--db", str(tmp_path / "none.duckdb")))


def test_api_query_returns_dataframes_with_their_settings(db):
    frame = api.query("sentiment", by=["theme", "quarter"], db=db)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns[:3]) == ["theme_id", "theme", "quarter"]
    assert frame.attrs["run_id"] == RUN_ID and frame.attrs["min_commenters"] == 5     # [aggregate] default
    assert frame.too_few.all() and frame["rank"].isna().all()              # nobody has 5 commenters here
    themes = api.query("themes", db=db)
    assert list(themes.theme_id) == [10, 0, 1, -1]
    with pytest.raises(Exception, match="unknown query 'regions'"):
        api.query("regions", db=db)
