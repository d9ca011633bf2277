"""The CLI is a thin layer: commands listed, and user errors are one line on stderr with no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


# -- timings: what `run` / `analyse` print at the end, and the runner that measures them ----------------------

TIMINGS = [
    {"stage": "ingest", "wall_s": 0.25, "cpu_s": 0.2, "peak_rss_mb": 190.0},
    {"stage": "embed", "wall_s": 208.0, "cpu_s": 401.5, "peak_rss_mb": 2300.4},
    {"stage": "total", "wall_s": 210.0, "cpu_s": 404.0, "peak_rss_mb": 2300.4},
]


def test_format_timings_is_an_aligned_table():
    from commentminer.api import format_timings

    lines = format_timings(TIMINGS).splitlines()
    assert lines[0].split() == ["stage", "wall", "s", "CPU", "s", "CPU/wall", "peak", "RSS", "MB"]
    assert lines[2].split() == ["embed", "208.0", "401.5", "1.93", "2300"]
    assert lines[3].split()[0] == "total" and len({len(line) for line in lines}) == 1


def test_run_prints_the_timing_table_unless_quiet(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from commentminer import api
    from commentminer.cli import app

    result = api.RunResult("run_x", tmp_path / "s.duckdb", {"report": tmp_path / "report.html",
                                                          "brief": tmp_path / "brief.md"}, {"timings": TIMINGS})
    monkeypatch.setattr(api, "run", lambda *a, **k: result)
    shown = CliRunner().invoke(app, ["run", str(tmp_path), "--out", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "peak RSS MB" in shown.stderr and "embed" in shown.stderr and "report:" in shown.stdout
    quiet = CliRunner().invoke(app, ["run", str(tmp_path), "--out", str(tmp_path), "-q"])
    assert quiet.exit_code == 0 and "peak RSS MB" not in quiet.output


def test_run_steps_number_label_and_time_every_stage(ctx):
    from commentminer.context import RunSteps

    with RunSteps(["ingest", "embed", "themes"], progress=False) as steps:
        assert steps.number("embed") == "[2/3]"
        with steps.stage("embed", ctx):
            assert ctx.label("embed") == "[2/3] embed" and ctx.label("themes: fit") == "[2/3] themes: fit"
            sum(i * i for i in range(200_000))
        assert ctx.step == "" and ctx.label("embed") == "embed"
        with pytest.raises(RuntimeError), steps.stage("themes", ctx):
            raise RuntimeError("boom")      # a failing stage is timed too
        rows = steps.rows()
    assert [r["stage"] for r in rows] == ["embed", "themes", "total"]
    assert rows[0]["wall_s"] > 0 and rows[0]["cpu_s"] > 0 and rows[0]["peak_rss_mb"] > 10
    assert rows[2]["wall_s"] >= rows[0]["wall_s"] + rows[1]["wall_s"] - 0.01


def test_stage_bars_carry_the_stage_number(ctx, monkeypatch):
    import tqdm.auto

    seen = []

    class Bar:
        def __init__(self, iterable=None, desc="", **kwargs):
            seen.append(desc)
            self.iterable = iterable or []

        def __iter__(self):
            return iter(self.iterable)

        def update(self, n):
            pass

        def close(self):
            pass

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    ctx.config.run.progress = True
    ctx.step = "[8/9]"
    assert list(ctx.progress([1, 2], desc="themes: labels")) == [1, 2]
    import pandas as pd

    assert len(list(ctx.batches(pd.DataFrame({"x": range(5)}), 2, desc="embed"))) == 3
    assert seen == ["[8/9] themes: labels", "[8/9] embed"]
    ctx.config.run.progress = False
    seen.clear()
    assert list(ctx.progress([1], desc="x")) == [1] and seen == []


@pytest.mark.parametrize("flag, precision", [("--fast", "int8"), ("--exact", "fp32"), (None, "fp32")])
def test_fast_and_exact_pick_the_graph_precision(monkeypatch, tmp_path, flag, precision):
    from typer.testing import CliRunner

    from commentminer import api
    from commentminer.cli import app

    seen = {}

    def fake_run(paths, out, config, db, log, **ingest_options):
        seen["precision"] = config.embed.precision
        return api.RunResult("run_x", tmp_path / "s.duckdb", {"report": tmp_path / "r", "brief": tmp_path / "b"},
                             {"timings": TIMINGS})

    monkeypatch.setattr(api, "run", fake_run)
    args = ["run", str(tmp_path), "--out", str(tmp_path), "-q", *([flag] if flag else [])]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen["precision"] == precision


@pytest.mark.parametrize("command", ["run", "analyse"])
def test_guided_themes_are_opt_in_with_themes_flag(monkeypatch, tmp_path, command):
    """No guided themes unless asked for: the default config has none, `--themes FILE` sets [themes] guided_path."""
    from typer.testing import CliRunner

    from commentminer import api
    from commentminer.cli import app

    seen = []

    def fake_run(paths, out, config, db, log, **ingest_options):
        seen.append(config.themes.guided_path)
        return api.RunResult("run_x", tmp_path / "s.duckdb", {"report": tmp_path / "r", "brief": tmp_path / "b"},
                             {"timings": TIMINGS})

    def fake_analyse(config, db, log):
        seen.append(config.themes.guided_path)
        return "run_x"

    monkeypatch.setattr(api, "run", fake_run)
    monkeypatch.setattr(api, "analyse", fake_analyse)
    monkeypatch.setattr(api, "run_stats", lambda *a, **k: {"timings": TIMINGS})
    base = ["run", str(tmp_path), "--out", str(tmp_path)] if command == "run" else ["analyse"]
    guided = FIXTURES.parents[1] / "configs" / "themes.toml"
    for extra in ([], ["--themes", str(guided)]):
        result = CliRunner().invoke(app, [*base, "-q", *extra])
        assert result.exit_code == 0, result.output
    assert seen == ["", str(guided)]
