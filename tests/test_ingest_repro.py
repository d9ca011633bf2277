"""Issue 14's hostile-file reproducers (../shared/repro/ingest): each one ingested through the real stages.

The small files are copied into fixtures/repro; the big ones (02, 11, 12, 15) are generated here with the same
shape. Every case checks what is stored and what is in `errors` (reason and line/row), never only "no crash".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from commentminer.cli import app
from commentminer.ingest.stage import ingest_paths
from commentminer.parse.stage import run as parse_run

REPRO = Path(__file__).resolve().parent / "fixtures" / "repro"


@pytest.fixture
def qctx(ctx):
    ctx.quarantine.policy = "quarantine"
    return ctx


def _ingest(ctx, *paths: Path) -> None:
    ingest_paths(ctx, list(paths))
    parse_run(ctx)


def _comments(store) -> list[tuple]:
    return [tuple(r) for r in store.query("SELECT text, name FROM comments ORDER BY position, text").itertuples(
        index=False)]


def _errors(store) -> list[tuple]:
    return [tuple(r) for r in store.query("SELECT reason, item_ref FROM errors ORDER BY reason, item_ref").itertuples(
        index=False)]


def test_01_cr_only_csv_is_read_and_the_store_stays_usable(qctx, store):
    _ingest(qctx, REPRO / "01_cr_only.csv")
    assert _comments(store) == [("hello", "Al"), ("bye", "Bob")]
    assert _errors(store) == []
    _ingest(qctx, REPRO / "09_identical_anonymous.csv")  # a later file into the same store
    assert store.count("comments") == 7


def test_02_deeply_nested_line_is_one_bad_line(qctx, store, tmp_path):
    path = tmp_path / "02_deep_nesting.jsonl"
    path.write_text('{"text":"fine"}\n' + "[" * 100_000 + "]" * 100_000 + "\n" + '{"text": {"a":' * 80 + '"x"'
                    + "}" * 80 + "}\n", "utf-8")
    _ingest(qctx, path)
    assert _comments(store) == [("fine", None)]
    assert _errors(store) == [("bad_json_line", "line 2"), ("bad_json_line", "line 3")]


def test_03_lone_surrogate_is_replaced_and_noted(qctx, store):
    _ingest(qctx, REPRO / "03_lone_surrogate.jsonl")
    assert _comments(store) == [("hello \ufffd world", None)]
    assert _errors(store) == [("bad_unicode", "line 1")]


def test_05_jsonl_whose_first_line_is_not_an_object(qctx, store):
    _ingest(qctx, REPRO / "05_first_line_not_object.jsonl")
    assert _comments(store) == [("first real comment", None), ("second real comment", None)]
    assert _errors(store) == [("bad_json_line", "line 1")]


def test_06_html_with_100_comments_keeps_its_article(qctx, store):
    _ingest(qctx, REPRO / "06_100_comments.html")
    article = store.read("articles").iloc[0]
    assert article.title == "Waiting times"
    assert article.body.startswith("Paragraph 0 of the article") and "Comment number" not in article.body
    assert article.body.count("\n\n") == 3  # four paragraphs
    assert store.count("comments") == 100
    assert store.query("SELECT name, place FROM comments WHERE position = 99").values.tolist() == [
        ["Reader 99", "Leeds"]]


def test_07_long_signature_is_its_own_comment(qctx, store):
    _ingest(qctx, REPRO / "07_long_signature.txt")
    rows = store.query("SELECT text, name, place FROM comments ORDER BY position").values.tolist()
    assert rows == [
        ["First comment: we were sidelined.", "Dr Jane Povey",
         "Practice Manager, Boleyn Road Practice, NHS Northshire Clinical Commissioning Group, Weston-super-Mare, "
         "North Somerset"],
        ["Second comment: I agree.", "Val Denton", "Weston Super Mare"],
    ]


def test_08_unclosed_quote_skips_one_line_not_the_rest(qctx, store):
    _ingest(qctx, REPRO / "08_unbalanced_quote.csv")
    assert _comments(store) == [("first", "Al"), ("third", "Cy"), ("fourth", "Di"), ("fifth", "Ed")]
    assert _errors(store) == [("unclosed_quote", "line 3")]


def test_09_identical_anonymous_comments_stay_distinct_and_stable(qctx, store):
    _ingest(qctx, REPRO / "09_identical_anonymous.csv")
    first = sorted(store.query("SELECT comment_id FROM comments")["comment_id"])
    assert len(set(first)) == 5
    assert sorted(t for t, _ in _comments(store)) == ["+1", "+1", "Agreed.", "Agreed.", "Agreed."]
    # parsed again (a new parser run over the same source): the same five ids
    store.delete("source_parses", "true")
    parse_run(qctx)
    assert sorted(store.query("SELECT comment_id FROM comments")["comment_id"]) == first


def test_09_untitled_export_article_is_titled_by_its_source_not_the_file(qctx, store, tmp_path):
    path = tmp_path / "c3_3k.csv"
    path.write_text("text\nhello\n", "utf-8")
    _ingest(qctx, path)
    source_id = store.read("sources").iloc[0].source_id
    assert store.read("articles").iloc[0].title == f"Article {source_id}"


def test_10_duplicate_ids_quarantine_the_conflict(qctx, store):
    _ingest(qctx, REPRO / "10_duplicate_ids.csv")
    assert _comments(store) == [("first comment text", "Al")]
    assert _errors(store) == [("duplicate_id", "row 2")]
    detail = store.read("errors").iloc[0].detail
    assert "row 1" in detail and "a different text" in detail


def test_11_100k_comment_text_dump(qctx, store, tmp_path):
    path = tmp_path / "11_100k_comments.txt"
    comments = "".join(f"“C{i}.” – R{i}, Leeds\n\n" for i in range(100_000))
    path.write_text("Boards\n\n2 September 2011\n\nThe article.\n\nYour comments (terms and conditions apply):\n\n"
                    + comments, "utf-8")
    _ingest(qctx, path)
    assert store.count("comments") == 100_000
    assert store.query("SELECT count(DISTINCT name) FROM comments").iloc[0, 0] == 100_000
    assert _errors(store) == []


def test_12_and_15_sniffer_files_are_read_with_the_header_delimiter(qctx, store, tmp_path):
    slow = tmp_path / "12_sniffer_slow.csv"
    slow.write_text("text,author\n" + '"x\n' * 21_000, "utf-8")
    semicolon = tmp_path / "15_sniffer_semicolon.csv"
    semicolon.write_text("text;author\n" + ("a;" + '"ba;' * 20 + "\n") * 800, "utf-8")
    _ingest(qctx, slow, semicolon)
    counts = dict(store.query("SELECT s.uri, count(*) FROM comments c JOIN sources s USING (source_id) "
                              "GROUP BY 1").values.tolist())
    assert counts == {str(semicolon): 800}
    # 12: every '"x' line opens a quote that runs over its line end and then breaks (the next line's quote closes
    # it, 'x' follows): no row reads as CSV, so the file is refused whole, with the cause, and quickly
    refused = store.read("errors", "uri = ?", [str(slow)])
    assert refused[["reason", "item_ref"]].values.tolist() == [["empty_export", None]]
    assert "unclosed_quote" in refused.iloc[0].detail
    texts = store.query("SELECT DISTINCT text FROM comments c JOIN sources s USING (source_id) WHERE s.uri = ?",
                        [str(semicolon)])["text"].tolist()
    assert texts == ["a"]  # ";" split the row: the text column is "a"
    # the cells past the two columns are not silently dropped
    assert store.count("errors", "reason = 'extra_cells'") == 800


def test_13_page_nested_255_deep_keeps_its_text(qctx, store):
    _ingest(qctx, REPRO / "13_nested_255.html")
    article = store.read("articles").iloc[0]
    assert article.body == "Article body text that is long enough to be kept as the article."
    assert _comments(store) == [("A comment.", "Bob")]


def test_14_one_cp1252_line_in_utf8_keeps_the_page(qctx, store):
    _ingest(qctx, REPRO / "14_mixed_encoding.txt")
    zoe = store.query("SELECT text, name, place FROM comments WHERE name = 'Zoë'").values.tolist()
    assert zoe == [["Café – naïve comment.", "Zoë", "Leeds"]]
    assert _errors(store) == [("line_decoded_cp1252", "line 87")]
    assert store.count("comments") == 16


def test_undecodable_line_is_left_out_and_named(qctx, store, tmp_path):
    path = tmp_path / "ctl.txt"
    lines = ["Title", "", "2 September 2011", "", "Body text here.", "", "Your comments:", "",
             "“One.” – Al, Leeds", "", "\x01\x02 garbage", "", "“Two.” – Bo, York"]
    path.write_bytes("\n".join(lines).encode("utf-8"))
    _ingest(qctx, path)
    assert [n for _, n in _comments(store)] == ["Al", "Bo"]
    assert _errors(store) == [("undecodable_line", "line 11")]


def test_a_parser_crash_quarantines_that_file_and_the_folder_goes_on(qctx, store, tmp_path, monkeypatch):
    (tmp_path / "a_bad.csv").write_text("text\nboom\n", "utf-8")
    (tmp_path / "b_good.csv").write_text("text\nfine\n", "utf-8")
    from commentminer.parse.table_export import TableExportParser

    original = TableExportParser.parse_source

    def crash_on_bad(self, raw_text, uri, options=None):
        if uri.endswith("a_bad.csv"):
            raise ValueError("simulated parser bug")
        return original(self, raw_text, uri, options)

    monkeypatch.setattr(TableExportParser, "parse_source", crash_on_bad)
    _ingest(qctx, tmp_path)
    assert _comments(store) == [("fine", None)]
    errors = store.read("errors")
    assert errors["reason"].tolist() == ["parser_error"]
    assert errors.iloc[0].uri.endswith("a_bad.csv") and "simulated parser bug" in errors.iloc[0].detail
    # a later run does not meet the crash again (the source is marked failed) and still works
    (tmp_path / "c_more.csv").write_text("text\nmore\n", "utf-8")
    _ingest(qctx, tmp_path)
    assert sorted(t for t, _ in _comments(store)) == ["fine", "more"]


# -- CLI ---------------------------------------------------------------------------------------------------------

def _cli(*args: str):
    return CliRunner().invoke(app, [*args, "--set", "run.progress=false"])


def test_cli_counts_are_what_was_stored(tmp_path):
    db = tmp_path / "x.duckdb"
    result = _cli("ingest", str(REPRO / "10_duplicate_ids.csv"), str(REPRO / "09_identical_anonymous.csv"),
                  "--db", str(db), "-q")
    assert result.exit_code == 0, result.output
    assert "2 articles, 6 comments; 1 item(s) quarantined" in result.output


def test_cli_missing_path_says_so_and_leaves_no_store(tmp_path):
    """issue 15: not "unknown file type ''", and no empty .duckdb after the failure."""
    db = tmp_path / "x.duckdb"
    missing = tmp_path / "nope"
    bad = tmp_path / "empty.txt"
    bad.write_text("", "utf-8")
    failed = _cli("ingest", str(bad), "--db", str(db), "-q")  # a store created by a failed ingest is removed
    assert failed.exit_code != 0 and "file is empty" in str(failed.exception)
    assert not db.exists()
    result = _cli("ingest", str(missing), "--db", str(db), "-q")
    assert result.exit_code != 0
    assert str(result.exception) == f"no such file or folder: {missing}"
    assert not db.exists() and not Path(str(db) + ".wal").exists()


def test_cli_every_reproducer_gives_one_line_or_counts(tmp_path):
    for path in sorted(REPRO.iterdir()):
        db = tmp_path / f"{path.stem}.duckdb"
        result = _cli("ingest", str(path), "--db", str(db), "-q")
        assert "Traceback" not in result.output, path
        assert result.exit_code == 0 and result.output.startswith(f"ingested into {db}:"), (path, result.output)
