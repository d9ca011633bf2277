"""The Python API as a notebook uses it: public functions survive subpackage imports and repeated calls,
DataFrames of themes / comments / units, RunResult's HTML summary, `run` with ingest options, and data paths that
work from any folder."""

from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd
import pytest

import commentminer as cm
from commentminer import api
from commentminer.config import load_config, resolve_data_path
from commentminer.errors import InputError, ModelMissingError, StoreError
from commentminer.store import Store
from fixtures.report_store import RUN_ID, build_report_store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "fixture.duckdb"
    with Store(path) as store:
        build_report_store(store)
    return path


def test_public_functions_stay_callable_after_their_subpackages_are_imported(db, tmp_path):
    for name in ("commentminer.ingest.stage", "commentminer.report.stage", "commentminer.themes.stage",
                 "commentminer.report.html"):
        importlib.import_module(name)
    assert all(callable(getattr(cm, name)) for name in cm.__all__)
    for _ in range(2):  # a notebook cell run twice
        frames = [cm.themes(db), cm.comments(db), cm.units(db), cm.query("themes", db=db)]
        assert all(isinstance(f, pd.DataFrame) and len(f) for f in frames)
        outputs = cm.report(tmp_path / "out", db=db, run_id=RUN_ID,
                            config=load_config(overrides=["run.progress=false"]))
        assert outputs["report"].is_file()
        quiet = load_config(overrides=["run.progress=false"])
        with pytest.raises(InputError):  # a missing file: the function runs (and says so), not "module not callable"
            cm.ingest([tmp_path / "nothing-here.csv"], db=tmp_path / "x.duckdb", config=quiet)
        with pytest.raises(InputError):
            cm.run([tmp_path / "nothing-here.csv"], out=tmp_path / "run-out", config=quiet)
        with pytest.raises(StoreError):  # a store with no articles: analyse runs and says what to do
            cm.analyse(db=tmp_path / "x.duckdb", config=quiet)
    # the subpackages are still reachable under the same names
    import commentminer.report.html as report_html
    assert report_html.render_report is cm.report.html.render_report
    assert "html" in cm.report.__doc__ or "report" in cm.report.__doc__


def test_comments_frame_has_theme_sentiment_and_region_columns(db):
    comments = cm.comments(db)
    assert {"themes", "theme_ids", "sentiment_label", "sentiment_score", "region", "text"} <= set(comments.columns)
    by_id = comments.set_index("comment_id")
    # c1's units: u1 and u2 are in theme 0 ("appointment booking"); c2: u3 theme 0, u4 the outlier theme
    assert by_id.loc["c1", "themes"] == "appointment booking" and by_id.loc["c1", "theme_ids"] == [0]
    assert by_id.loc["c2", "theme_ids"] == [0, -1]
    assert by_id.loc["c6", "region"] == "London" and by_id.loc["c6", "sentiment_label"] == "negative"
    assert comments.attrs["run_id"] == RUN_ID


def test_units_and_themes_frames(db):
    units = cm.units(db)
    assert {"unit_id", "kind", "theme_id", "theme_label", "sentiment_score", "text"} <= set(units.columns)
    assert len(units) == 10 and units.attrs["run_id"] == RUN_ID
    themes = cm.themes(db)
    assert {"appointment booking", "surgery funding"} <= set(themes["theme"])


def test_comments_csv_lists_each_comments_themes(db, tmp_path):
    outputs = cm.report(tmp_path / "out", db=db, run_id=RUN_ID, config=load_config(overrides=["run.progress=false"]))
    frame = pd.read_csv(outputs["comments_csv"]).set_index("comment_id")
    assert frame.loc["c3", "themes"] == "surgery funding" and frame.loc["c2", "theme_ids"] == "0; -1"
    parquet = pd.read_parquet(outputs["comments_parquet"]).set_index("comment_id")
    assert list(parquet.loc["c2", "theme_ids"]) == [0, -1]


def test_run_result_shows_an_escaped_html_summary(tmp_path):
    result = api.RunResult("run_<x>", tmp_path / "s.duckdb", {"report": tmp_path / "report.html"},
                           {"parse": {"articles": 3, "comments": 12}, "themes": {"themes": 5},
                            "timings": [{"stage": "total", "wall_s": 4.25, "cpu_s": 5, "peak_rss_mb": 1}]})
    html = result._repr_html_()
    assert "run_&lt;x&gt;" in html and "<x>" not in html
    assert ">12<" in html and "4.2 s" in html and "report.html" in html


def test_run_passes_ingest_options_through(monkeypatch, tmp_path):
    seen = {}

    def fake_ingest(paths, cfg, db, log, fmt, column_map, steps):
        seen.update(fmt=fmt, column_map=column_map)
        raise InputError("stop", "seen enough")

    monkeypatch.setattr(api, "_ingest", fake_ingest)
    with pytest.raises(InputError):
        api.run([tmp_path], out=tmp_path, fmt="csv", column_map={"text": "comment_text"},
                config=load_config(overrides=["run.progress=false"]))
    assert seen == {"fmt": "csv", "column_map": {"text": "comment_text"}}


def test_run_command_takes_map_and_format(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from commentminer.cli import app

    seen = {}

    def fake_run(paths, out, config, db, log, fmt=None, column_map=None):
        seen.update(fmt=fmt, column_map=column_map)
        return api.RunResult("run_x", tmp_path / "s.duckdb", {"report": tmp_path / "r", "brief": tmp_path / "b"},
                             {"timings": []})

    monkeypatch.setattr(api, "run", fake_run)
    result = CliRunner().invoke(app, ["run", str(tmp_path), "--out", str(tmp_path), "-q", "--format", "csv",
                                      "--map", "text=comment_text,name=user"])
    assert result.exit_code == 0, result.output
    assert seen == {"fmt": "csv", "column_map": {"text": "comment_text", "name": "user"}}


def test_data_paths_resolve_from_any_folder(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COMMENTMINER_HOME", raising=False)
    cfg = load_config()
    cfg.themes.guided_path = "configs/themes.toml"  # guided themes are opt-in (no default file)
    # relative settings point into the project folder, not the working directory
    assert cfg.path("themes.guided_path") == ROOT / "configs" / "themes.toml"
    assert cfg.path("embed.model_path") == ROOT / "models" / "all-MiniLM-L6-v2"
    # a file in the working directory wins; COMMENTMINER_HOME is searched before the project folder
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "themes.toml").write_text("", encoding="utf-8")
    assert resolve_data_path("configs/themes.toml") == Path("configs/themes.toml")
    home = tmp_path / "home"
    (home / "models" / "mine").mkdir(parents=True)
    monkeypatch.setenv("COMMENTMINER_HOME", str(home))
    assert resolve_data_path("models/mine") == home / "models" / "mine"
    assert resolve_data_path("models/absent") == Path("models/absent")  # not found: kept as written
    assert resolve_data_path("") == Path("")


def test_missing_model_error_names_the_setting(tmp_path):
    from commentminer.encoder.runtime import check_model_folder

    with pytest.raises(ModelMissingError, match=r"--set embed.model_path=FOLDER"):
        check_model_folder(tmp_path / "nothing-here")
