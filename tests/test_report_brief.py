"""brief.md (sections, numbers from the aggregates, attributed quotes, pseudonyms, escaping), Parquet exports and
exports/manifest.json, on the hand-built report store."""

from __future__ import annotations

import hashlib
import json
import re

import pandas as pd
import pytest

from commentminer import aggregate as agg
from commentminer.config import Config, load_config
from commentminer.context import StageContext
from commentminer.report.brief import md
from commentminer.report.stage import write_report
from fixtures.report_store import (COMMENTS, RESOLVER, RUN_ID, SENTIMENT_BACKEND, XSS_PLACE, add_parent_theme,
                                   build_report_store)

INJECTION = "**bold** [link](http://x) <script>alert(2)</script> `code` # head _em_ ![img](http://y)"
OVERRIDES = ["run.progress=false", "aggregate.min_commenters=2"]


def _write(store, tmp_path, *extra):
    build_report_store(store)
    config = load_config(overrides=OVERRIDES + list(extra))
    return write_report(StageContext.create(store, config, run_id=RUN_ID), tmp_path / "out")


def _sections(brief: str) -> dict[str, str]:
    parts = re.split(r"^## ", brief, flags=re.M)[1:]
    return {part.splitlines()[0]: part for part in parts}


def test_brief_has_one_section_per_theme_with_aggregate_numbers(store, tmp_path):
    outputs = _write(store, tmp_path)
    brief = outputs["brief"].read_text(encoding="utf-8")
    sections = _sections(brief)
    # executive summary first, then leaf themes (no parents in this store), most distinct commenters first,
    # then how to read it ("other" is counted in the introduction)
    assert list(sections) == ["Executive summary", "1. surgery funding", "2. appointment booking",
                              "How to read this brief"]
    assert "2 sentences fit no theme" in brief
    summary = sections["Executive summary"]
    assert "“surgery funding”: 3 distinct commenters" in summary and "Of 6 scored comments, 50%" in summary
    overall = agg.sentiment_table(store, RUN_ID, by=("theme",), kinds=("article", "comment", "quote"),
                                  sentiment_backend=SENTIMENT_BACKEND, resolver_id=RESOLVER, min_commenters=2)
    for title, theme_id in (("1. surgery funding", 1), ("2. appointment booking", 0)):
        row = overall[overall.theme_id == theme_id].iloc[0]
        text = sections[title]
        assert (f"{row.n_commenters} distinct commenters ({row.n_comments} comments, {row.n_units} sentences)"
                in text)
        assert f"{row.share_negative:.0%} negative, {row.share_neutral:.0%} neutral, {row.share_positive:.0%} positive" in text
        assert text.count("\n> — ") == 3                                  # three attributed quotes
    funding = sections["1. surgery funding"]
    assert "4 distinct commenters (3 comments, 4 sentences)" in funding   # Dr Jane Roe (quoted) counts
    assert "London 1, South West 1; too few per region to compare." in funding
    assert "not recognised" not in brief and "Unresolved" not in brief    # no filler lines
    assert "> — a commenter\n" in funding and "> — Dan Brown, Hackney" in funding   # withheld: anonymous
    booking = sections["2. appointment booking"]
    assert "Yorkshire and The Humber 2 (mean +0.23)." in booking
    assert "> — Alice Smith, Leeds" in booking and "> — Bob Jones, Leeds" in booking
    assert "25% negative, 25% neutral, 50% positive" in booking


def test_brief_groups_leaf_themes_under_their_parent(store, tmp_path):
    build_report_store(store)
    add_parent_theme(store)
    config = load_config(overrides=OVERRIDES)
    brief = write_report(StageContext.create(store, config, run_id=RUN_ID), tmp_path)["brief"].read_text("utf-8")
    sections = _sections(brief)
    assert list(sections) == ["Executive summary", "1. access to care", "How to read this brief"]
    group = sections["1. access to care"]
    assert "A group of 2 themes: 5 distinct commenters" in group
    assert group.index("### 1.1 surgery funding") < group.index("### 1.2 appointment booking")


def test_anonymous_commenters_are_a_commenter(store, tmp_path):
    build_report_store(store)
    store.query("UPDATE comments SET name = '619' WHERE comment_id = 'c2'")
    config = load_config(overrides=OVERRIDES)
    brief = write_report(StageContext.create(store, config, run_id=RUN_ID), tmp_path)["brief"].read_text("utf-8")
    assert "> — a commenter, Leeds" in brief and "619" not in brief


def test_brief_quotes_from_articles_name_the_article(store, tmp_path):
    build_report_store(store)
    store.upsert("unit_themes", pd.DataFrame([{"run_id": RUN_ID, "unit_id": "u10", "theme_id": 1,
                                               "probability": 0.9, "quote_rank": 0},
                                              {"run_id": RUN_ID, "unit_id": "u9", "theme_id": 0,
                                               "probability": 0.9, "quote_rank": 0}]))
    config = load_config(overrides=OVERRIDES)
    brief = write_report(StageContext.create(store, config, run_id=RUN_ID), tmp_path)["brief"].read_text("utf-8")
    assert "> — Dr Jane Roe, Bristol, quoted in “Funding row \\<b\\>deepens\\</b\\> & spreads”" in brief
    assert "> — from the article “Surgery closures: what readers say”" in brief


def _store_with_names_in_texts(store):
    """The fixture store plus a quoted speaker as a theme quote and a commenter's name inside a quote."""
    build_report_store(store)
    store.upsert("unit_themes", pd.DataFrame([{"run_id": RUN_ID, "unit_id": "u10", "theme_id": 1,
                                               "probability": 0.9, "quote_rank": 0}]))
    unit = store.read("units", "unit_id = 'u7'")
    unit.loc[0, "text"] = "I agree with alice  smith: staff were kind."
    store.upsert("units", unit)
    return store


def test_pseudonymise_replaces_every_name_and_keeps_places(store, tmp_path):
    _store_with_names_in_texts(store)
    config = load_config(overrides=OVERRIDES + ["report.pseudonymise=true"])
    brief = write_report(StageContext.create(store, config, run_id=RUN_ID), tmp_path)["brief"].read_text("utf-8")
    for name in {c[3] for c in COMMENTS if c[3]} | {"Dr Jane Roe", "Alice", "Smith"}:
        assert name.lower() not in brief.lower(), name
    for place in ("Leeds", "Bristol", "\\<script\\>alert(1)\\</script\\>"):
        assert place in brief
    # numbered by first appearance in comment order (a1: Alice, Bob; a2: Carol, Alice again, Dan), stable ids
    assert "> — Commenter 1, Leeds" in brief and "> — Commenter 2, Leeds" in brief
    assert "> — Commenter 3, \\<script\\>" in brief and "> — a commenter\n" in brief
    assert "I agree with Commenter 1: staff were kind." in brief
    assert "> — Speaker 1, Bristol, quoted in" in brief
    assert "pseudonymised" in brief
    # exports keep names unless [report] pseudonymise_exports
    comments = pd.read_csv(tmp_path / "exports" / "comments.csv")
    assert "Alice Smith" in set(comments.name)


def test_pseudonymise_hides_every_name_in_report_html(store, tmp_path):
    _store_with_names_in_texts(store)
    themes = store.read("themes", f"run_id = '{RUN_ID}' AND theme_id = 0")
    themes.loc[0, "summary"] = "Bob Jones and others praise booking."            # a name inside a summary
    store.upsert("themes", themes)

    def report(pseudonymise: str) -> str:
        config = load_config(overrides=OVERRIDES + [f"report.pseudonymise={pseudonymise}"])
        out = tmp_path / pseudonymise
        return write_report(StageContext.create(store, config, run_id=RUN_ID), out)["report"].read_text("utf-8")

    html = report("true")
    for name in {c[3] for c in COMMENTS if c[3]} | {"Dr Jane Roe", "Alice", "Smith"}:
        assert name.lower() not in html.lower(), name                     # cards, quotes, map, articles, ...
    assert "Commenter 1, Leeds" in html and "Speaker 1" in html and "Bristol" in html
    assert "Commenter 2 and others praise booking." in html
    plain = report("false")
    assert "Alice Smith" in plain and "Dr Jane Roe" in plain               # off by default


def test_pseudonymised_exports(store, tmp_path):
    outputs = _write(store, tmp_path, "report.pseudonymise_exports=true")
    comments = pd.read_csv(outputs["comments_csv"])
    assert set(comments.name.dropna()) == {"Commenter 1", "Commenter 2", "Commenter 3", "Commenter 4"}
    assert "p_alice" not in set(comments.commenter_id) and "Leeds" in set(comments.place)
    units = pd.read_parquet(outputs["units_parquet"])
    assert set(units.speaker.dropna()) == {"Speaker 1"} and "Bristol" in set(units.place.dropna())
    brief = outputs["brief"].read_text("utf-8")
    assert "Alice Smith" in brief                                         # the brief has its own switch


def test_brief_escapes_markdown_and_html_in_user_text(store, tmp_path):
    build_report_store(store)
    unit = store.read("units", "unit_id = 'u1'")
    unit.loc[0, "text"] = INJECTION + "\n\n# Heading\n1. list"
    store.upsert("units", unit)
    themes = store.read("themes", "run_id = ?", [RUN_ID])
    themes.loc[themes.theme_id == 0, "summary"] = "1. " + INJECTION
    themes.loc[themes.theme_id == 0, "label"] = "<img src=x onerror=alert(3)>"
    store.upsert("themes", themes)
    config = load_config(overrides=OVERRIDES)
    brief = write_report(StageContext.create(store, config, run_id=RUN_ID), tmp_path)["brief"].read_text("utf-8")
    # every tag and link opener carries its escape (the rendered check below is the real test)
    assert not re.search(r"(?<!\\)<(script|img)|(?<!\\)\]\(http", brief) and "**bold**" not in brief
    assert "\\*\\*bold\\*\\* \\[link\\](http://x) \\<script\\>" in brief
    assert not re.search(r"^(# Heading|1\. list)", brief, flags=re.M)     # newlines are flattened
    assert "\n1\\. \\*\\*bold" in brief                                  # the summary opens its section
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark").render(brief)
    assert "<script" not in html and "<img" not in html and "<a " not in html and "<code>" not in html
    assert "<strong>bold</strong>" not in html and "<em>em</em>" not in html
    assert "**bold** [link](http://x) &lt;script&gt;" in html               # shown as the text it was
    assert html.count("<h2>") == 4 and html.count("<h1>") == 1          # summary, 2 themes, how to read


def test_md_escape():
    assert md("a\nb\t c") == "a b c"
    assert md("<b>x</b> & y") == "\\<b\\>x\\</b\\> & y"
    assert md("2. item") == "2\\. item" and md("[x](y)") == "\\[x\\](y)" and md("- x") == "\\- x"
    # only what Markdown acts on is escaped: no "Just think\\!", "Harley\\-Doyle" or "&amp;"
    assert md("Just think! Harley-Doyle & sons (2012), snake_case") == \
        "Just think! Harley-Doyle & sons (2012), snake_case"
    assert md("&amp; _em_ *x* `c` ~~s~~") == "\\&amp; \\_em\\_ \\*x\\* \\`c\\` \\~\\~s\\~\\~"
    assert md(None) == ""


def test_parquet_exports_match_the_csvs(store, tmp_path):
    outputs = _write(store, tmp_path)
    names = {"comments", "units", "themes", "unit_themes", "sentiment", "places", "regions", "articles", "aggregates"}
    assert {n for n in outputs if n.endswith("_parquet")} == {f"{n}_parquet" for n in names}
    for name in names:
        csv = pd.read_csv(outputs[f"{name}_csv"])
        parquet = pd.read_parquet(outputs[f"{name}_parquet"])
        assert list(parquet.columns) == list(csv.columns), name
        assert len(parquet) == len(csv) > 0, name
    themes = pd.read_parquet(outputs["themes_parquet"])
    assert list(themes.keywords.iloc[0]) == ["appointments", "booking", "waiting times"]   # lists kept
    sentiment = pd.read_parquet(outputs["sentiment_parquet"])
    assert set(sentiment.backend_id) == {SENTIMENT_BACKEND} and len(sentiment) == 16        # 10 units + 6 comments
    places = pd.read_parquet(outputs["places_parquet"])
    assert set(places.resolver_id) == {RESOLVER} and XSS_PLACE in set(places.place_raw)
    aggregates = pd.read_parquet(outputs["aggregates_parquet"])
    assert {"theme_id", "theme", "region", "quarter", "n_commenters", "mean_score", "too_few"} <= set(aggregates.columns)
    by_theme = aggregates.groupby("theme_id")["n_units"].sum().to_dict()
    assert by_theme == {-1: 2, 0: 4, 1: 4}


def test_manifest_lists_run_config_seeds_sources_and_file_hashes(store, tmp_path):
    build_report_store(store)
    store.upsert("sources", pd.DataFrame([{"source_id": "s_a1", "uri": "corpus/a1.txt", "format": "text_dump",
                                           "sha256": "ab" * 32, "size_bytes": 12, "raw_text": "x"}]))
    config = load_config(overrides=OVERRIDES + ["aggregate.bootstrap_seed=7"])
    outputs = write_report(StageContext.create(store, config, run_id=RUN_ID), tmp_path / "out")
    manifest = json.loads(outputs["manifest"].read_text("utf-8"))
    assert {"commentminer_version", "run", "versions", "config", "config_hash", "config_file", "seeds", "store",
            "sources", "counts", "files", "reproduce", "report_settings"} <= set(manifest)
    assert manifest["run"]["run_id"] == RUN_ID and manifest["run"]["started_at"].startswith("2024-05-01T09:30")
    assert manifest["config"] == json.loads(Config().to_json()) and manifest["config_hash"] == Config().config_hash()
    assert manifest["seeds"] == {"themes.seed": 42, "aggregate.bootstrap_seed": 7}
    assert manifest["sources"] == [{"uri": "corpus/a1.txt", "format": "text_dump", "sha256": "ab" * 32,
                                    "size_bytes": 12}]
    assert manifest["counts"]["comments"] == 6 and manifest["store"] == store.path
    files = {f["path"]: f for f in manifest["files"]}
    assert {"report.html", "brief.md", "exports/comments.csv", "exports/comments.parquet",
            "exports/run_config.toml"} <= set(files)
    assert "exports/manifest.json" not in files
    for path, entry in files.items():
        data = (tmp_path / "out" / path).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data), path
    # the config file named in the manifest loads back to the run's config
    assert load_config(tmp_path / "out" / manifest["config_file"]) == Config()
    assert manifest["config_file"] in manifest["reproduce"]


def test_run_config_round_trips_a_changed_config(tmp_path):
    from commentminer.report.exports import config_toml

    config = load_config(overrides=["themes.seed=7", "themes.ngram_range=[1, 2]", "store.path='a \"b\" \\\\ c'",
                                    "sentiment.neutral_threshold=0.00001"])
    path = tmp_path / "c.toml"
    path.write_text(config_toml(config.model_dump(mode="json")), encoding="utf-8")
    assert load_config(path) == config


def test_brief_workbook_holds_the_briefs_tables_as_text(store, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    build_report_store(store)
    store.query("UPDATE units SET text = '=HYPERLINK(\"http://evil\",\"x\")' WHERE unit_id = 'u1'")
    outputs = write_report(StageContext.create(store, load_config(overrides=OVERRIDES), run_id=RUN_ID),
                           tmp_path / "out")
    book = openpyxl.load_workbook(outputs["brief_xlsx"])
    assert book.sheetnames == ["Summary", "Themes", "Regions", "Quotes"]
    themes = [[c.value for c in row] for row in book["Themes"].iter_rows()]
    header = themes[0]
    by_theme = {row[header.index("theme")]: dict(zip(header, row)) for row in themes[1:]}
    assert list(by_theme) == ["surgery funding", "appointment booking"]       # the brief's order
    assert by_theme["surgery funding"]["distinct commenters"] == 4 and by_theme["surgery funding"]["sentences"] == 4
    assert by_theme["appointment booking"]["positive share"] == pytest.approx(0.5)
    quotes = book["Quotes"]
    cell = next(c for row in quotes.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value)
    assert cell.data_type == "s"                                             # text, not a live formula
    who = [c.value for c in quotes["C"]][1:]
    assert "a commenter" in who and "Alice Smith, Leeds" in who
    assert "surgery funding" in book["Summary"]["A2"].value
    assert any(r[1] == "Yorkshire and The Humber" for r in book["Regions"].iter_rows(values_only=True))
