"""TableExportParser ("table.v1"): CSV/TSV, JSON Lines and Parquet comment exports, column mapping, dates,
grouping into articles; and the mixed-format folder through ingest + parse in one call."""

import json
import shutil
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from fixtures.golden import as_golden

from commentminer.errors import InputError
from commentminer.ingest.formats import read_parquet_file
from commentminer.ingest.stage import ingest_paths
from commentminer.parse.stage import run as parse_run
from commentminer.parse.table_export import TableExportParser, column_key, export_date, resolve_columns

EXPORTS = Path(__file__).resolve().parent / "fixtures" / "exports"
SEEDS_DIR = Path(__file__).resolve().parents[1] / "corpus" / "seeds"
HTML_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "html"
GOLDEN = json.loads((EXPORTS / "golden.json").read_text("utf-8"))
MAPPED = {"text": "body", "name": "user", "place": "town", "date": "posted_on", "article_title": "story"}


def _parse(text: str, uri: str = "export.csv", column_map: dict | None = None, **params):
    options = {"map": column_map} if column_map else None
    return TableExportParser(**params).parse_source(text, uri, options)


# -- golden files -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["comments.csv", "comments.tsv", "comments.jsonl"])
def test_golden_export(name):
    articles = _parse((EXPORTS / name).read_bytes().decode("utf-8"), name)
    assert as_golden(articles) == GOLDEN[name]


def test_golden_mapped_csv():
    articles = _parse((EXPORTS / "mapped.csv").read_text("utf-8"), "mapped.csv", MAPPED)
    assert as_golden(articles) == GOLDEN["mapped.csv"]


def test_csv_with_bom_crlf_and_quoted_multiline_field():
    raw = (EXPORTS / "comments.csv").read_bytes().decode("utf-8")  # BOM kept, as a parser may be handed it
    assert raw.startswith("\ufeff") and "\r\n" in raw
    articles = _parse(raw, "comments.csv")
    assert articles[0].comments[1].text == "I agree. We were sidelined last year, and it showed."
    assert articles[0].comments[0].external_id == "c1"  # the first column ("\ufeffid") is still matched


def _write_parquet(path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "comment_id": pa.array([1, 2, 3], pa.int64()),
        "article_title": ["Locum costs", "Locum costs", "Locum costs"],
        "article_date": pa.array([date(2011, 9, 1)] * 3, pa.date32()),
        "author": ["Kim Ode", "Lee Hart", None],
        "location": ["Bristol", None, None],
        "created_at": pa.array([datetime(2011, 9, 2, 23, 30, tzinfo=timezone.utc),
                                datetime(2011, 9, 3, 8, 0, tzinfo=timezone.utc), None], pa.timestamp("ms", tz="UTC")),
        "parent_id": pa.array([None, 1, None], pa.int64()),
        "text": ["Locums cost us a fortune.", "We share one with the next practice.", None],
    })
    pq.write_table(table, path)
    return path


def test_golden_parquet(tmp_path):
    path = _write_parquet(tmp_path / "comments.parquet")
    read = read_parquet_file(path, max_bytes=10_000_000)
    articles = _parse(read.raw_text, str(path))
    assert as_golden(articles) == [{
        "title": "Locum costs", "body": "", "published": "2011-09-01", "date_raw": "2011-09-01", "byline": None,
        "url": None, "external_id": None,
        "problems": [{"item_ref": "line 3", "reason": "empty_comment"}],
        "comments": [
            {"text": "Locums cost us a fortune.", "name": "Kim Ode", "place": "Bristol", "withheld": False,
             "signature_raw": None, "published": "2011-09-02", "date_raw": "2011-09-02 23:30:00+00:00",
             "external_id": "1", "parent_external_id": None, "truncated": False},
            {"text": "We share one with the next practice.", "name": "Lee Hart", "place": None, "withheld": False,
             "signature_raw": None, "published": "2011-09-03", "date_raw": "2011-09-03 08:00:00+00:00",
             "external_id": "2", "parent_external_id": "1", "truncated": False},
        ],
    }]


# -- column mapping ---------------------------------------------------------------------------------------------
def test_default_matching_ignores_case_spaces_and_dashes():
    assert column_key(" Created-At ") == "created_at"
    fields = resolve_columns(["Comment ID", "USER", "Location", "Posted", "Body Text", "Message"], None, "f.csv")
    assert fields == {"text": "Message", "name": "USER", "place": "Location", "date": "Posted",
                      "comment_id": "Comment ID"}


def test_wordpress_and_sfu_comment_columns_are_matched_by_default():
    wordpress = ["comment_ID", "comment_post_ID", "comment_author", "comment_author_email", "comment_date",
                 "comment_content", "comment_parent"]
    assert resolve_columns(wordpress, None, "wp.csv") == {
        "text": "comment_content", "name": "comment_author", "date": "comment_date", "comment_id": "comment_ID",
        "parent_id": "comment_parent", "article_id": "comment_post_ID"}
    sfu = ["article_id", "comment_author", "comment_counter", "comment_text", "constructive"]   # SFU C3's own
    assert resolve_columns(sfu, None, "C3.csv") == {"text": "comment_text", "name": "comment_author",
                                                    "article_id": "article_id"}


def test_field_name_wins_over_aliases():
    fields = resolve_columns(["author", "name", "text", "comment"], None, "f.csv")
    assert (fields["name"], fields["text"]) == ("name", "text")


def test_map_overrides_default_and_takes_its_column_out_of_default_matching():
    text = "text,notes,author,title\nthe comment,the real text,Ann,Story\n"
    articles = _parse(text, column_map={"text": "notes", "article_title": "author", "name": "title"})
    comment = articles[0].comments[0]
    assert (comment.text, comment.name, articles[0].title) == ("the real text", "Story", "Ann")


def test_map_column_matches_case_insensitively():
    articles = _parse("Body,User\nhello there,Ann\n", column_map={"text": "body", "name": "user"})
    assert (articles[0].comments[0].text, articles[0].comments[0].name) == ("hello there", "Ann")


def test_map_to_missing_column_names_it_and_lists_the_available_columns():
    with pytest.raises(InputError) as info:
        _parse((EXPORTS / "mapped.csv").read_text("utf-8"), "mapped.csv", {"text": "comment_body"})
    assert info.value.reason == "bad_mapping"
    assert str(info.value) == ("mapped.csv: --map text=comment_body: the file has no column 'comment_body'; its "
                               "columns are: 'body', 'user', 'town', 'posted_on', 'story'")


def test_map_with_unknown_field_lists_our_fields():
    with pytest.raises(InputError, match=r"unknown field 'txt'.*fields are: text, name, place") as info:
        _parse("body\nhello\n", column_map={"txt": "body"})
    assert info.value.reason == "bad_mapping"


def test_no_text_column_says_how_to_map_one():
    with pytest.raises(InputError, match=r"no column for the comment text .* columns are: 'body', 'user', 'town', 'posted_on', 'story'; "
                                         r"name it with --map text=COLUMN") as info:
        _parse((EXPORTS / "mapped.csv").read_text("utf-8"), "mapped.csv")
    assert info.value.reason == "no_text_column"


def test_nested_json_is_flattened_and_mappable_with_dotted_names():
    text = '{"text": "Hi", "author": {"name": "Ann", "location": {"town": "Hull"}}}\n'
    comment = _parse(text, "x.jsonl", {"name": "author.name", "place": "author.location.town"})[0].comments[0]
    assert (comment.name, comment.place) == ("Ann", "Hull")


def test_json_array_file():
    text = '[{"text": "One", "id": 1}, "junk", {"text": "Two", "id": 2}]'
    article = _parse(text, "x.json")[0]
    assert [(c.text, c.external_id) for c in article.comments] == [("One", "1"), ("Two", "2")]
    assert [(p.item_ref, p.reason) for p in article.problems] == [("item 2", "bad_json_line")]


def test_jsonl_keys_seen_only_on_later_lines_are_columns():
    text = '{"text": "One"}\n{"text": "Two", "location": "Hull"}\n'
    assert [c.place for c in _parse(text, "x.jsonl")[0].comments] == [None, "Hull"]


# -- names, places, signatures ----------------------------------------------------------------------------------
def test_name_with_comma_is_kept_whole_and_withheld_is_recognised():
    text = 'name,text\n"Smith, John",One\nName and address withheld,Two\n'
    comments = _parse(text)[0].comments
    assert [(c.name, c.place, c.withheld) for c in comments] == [("Smith, John", None, False), (None, None, True)]


def test_signature_column_is_split_and_explicit_columns_win():
    text = 'text,signed,location\nOne,"Val Denton, Weston Super Mare",\nTwo,"Jo Roe, Leeds",York\nThree,Name withheld,\n'
    comments = _parse(text, column_map={"signature": "signed"})[0].comments
    assert [(c.name, c.place, c.withheld, c.signature_raw) for c in comments] == [
        ("Val Denton", "Weston Super Mare", False, "Val Denton, Weston Super Mare"),
        ("Jo Roe", "York", False, "Jo Roe, Leeds"),
        (None, None, True, "Name withheld"),
    ]


# -- dates ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected, raw", [
    (1315000000, date(2011, 9, 2), "1315000000"),            # epoch seconds (2011-09-02T21:46:40Z)
    ("1315000000", date(2011, 9, 2), "1315000000"),
    (1315000000000, date(2011, 9, 2), "1315000000000"),      # epoch milliseconds
    (1315000000.5, date(2011, 9, 2), "1315000000.5"),
    (1315000000.0, date(2011, 9, 2), "1315000000"),          # a float column's whole number
    (1314999000, date(2011, 9, 2), "1314999000"),
    (1, None, "1"),                                          # too small to be an epoch
    ("20110902", date(2011, 9, 2), "20110902"),              # compact ISO
    ("2011-09-02", date(2011, 9, 2), "2011-09-02"),
    ("2011-09-02T23:30:00-05:00", date(2011, 9, 2), "2011-09-02T23:30:00-05:00"),  # the date as written
    ("2011-09-02 10:15:00Z", date(2011, 9, 2), "2011-09-02 10:15:00Z"),
    (" 2 September 2011 ", date(2011, 9, 2), "2 September 2011"),  # parse/dates.parse_date
    ("02/09/2011", date(2011, 9, 2), "02/09/2011"),                # UK day-first
    ("whenever", None, "whenever"),
    ("", None, None),
    (None, None, None),
])
def test_export_date(value, expected, raw):
    assert export_date(value) == (expected, raw)


def test_unreadable_dates_are_kept_raw_and_summed_up_in_one_problem():
    article = _parse("text,date\nA,soon\nB,later\nC,2011-09-02\n")[0]
    assert [(c.published, c.date_raw) for c in article.comments] == [
        (None, "soon"), (None, "later"), (date(2011, 9, 2), "2011-09-02")]
    assert [(p.item_ref, p.reason) for p in article.problems] == [("date column", "unparsed_date")]
    assert "2 of 3 date values" in article.problems[0].detail and "'soon' (row 1)" in article.problems[0].detail


# -- grouping, replies, problems --------------------------------------------------------------------------------
def test_rows_group_by_article_id_then_url_then_title_then_file():
    text = (
        "article_id,article_url,article_title,article_date,article_body,text,id,parent_id\n"
        "A1,,First,2011-09-01,Body one.,c-a,1,\n"
        ",https://x.example/two/,,,,c-b,2,\n"
        "A1,https://x.example/one,First again,,Body ignored.,c-c,3,1\n"
        ",https://x.example/two,Two,,,c-d,4,2\n"   # same URL without the slash
        ",,Third,,,c-e,5,\n"
        ",,,,,c-f,6,\n"
    )
    articles = _parse(text, "/data/exports/daily.csv")
    assert [(a.external_id, a.url, a.title, a.published, a.body, [c.text for c in a.comments]) for a in articles] == [
        ("A1", "https://x.example/one", "First", date(2011, 9, 1), "Body one.", ["c-a", "c-c"]),
        (None, "https://x.example/two/", "Two", None, "", ["c-b", "c-d"]),
        (None, None, "Third", None, "", ["c-e"]),
        (None, None, None, None, "", ["c-f"]),  # never the file name (issue 15): the parse stage titles it
    ]
    replies = [(c.external_id, c.parent_external_id, c.position) for a in articles[:2] for c in a.comments]
    assert replies == [("1", None, 0), ("3", "1", 1), ("2", None, 0), ("4", "2", 1)]


def test_article_without_title_uses_its_url():
    assert _parse("url,text\nhttps://x.example/a,Hi\n")[0].title == "https://x.example/a"


def test_long_comment_is_truncated_with_a_problem():
    article = _parse("text\n" + "word " * 10 + "\n", max_comment_chars=9)[0]
    assert article.comments[0].text == "word word"
    assert [(p.item_ref, p.reason) for p in article.problems] == [("row 1", "comment_truncated")]


def test_export_with_no_usable_comment_is_an_input_error():
    with pytest.raises(InputError, match=r"no comment with text in 2 rows .*row 1: empty_comment") as info:
        _parse("text,name\n,Ann\n  ,Bob\n")
    assert info.value.reason == "empty_export"
    with pytest.raises(InputError, match="empty"):
        _parse("\ufeff \n")


def test_semicolon_csv_is_sniffed_and_pipe_from_the_header_line():
    semicolon = _parse('name;text\nAnn;"Hello, world; again"\n')[0].comments[0]
    assert (semicolon.name, semicolon.text) == ("Ann", "Hello, world; again")
    # a quoted multi-line first row with commas can mislead the sniffer; the header decides
    pipe = _parse('name|text\nAnn|"Line one, with commas, and more,\nline two"\n')[0].comments[0]
    assert (pipe.name, pipe.text) == ("Ann", "Line one, with commas, and more, line two")


def test_apostrophes_are_not_taken_for_quote_characters():
    text = "name,text\nAnn,'Fair' pay isn't 'fair'\nBob,'Quoted' words aren't quotes\n"
    assert [c.text for c in _parse(text)[0].comments] == ["'Fair' pay isn't 'fair'", "'Quoted' words aren't quotes"]


def test_short_and_long_rows_and_blank_lines():
    article = _parse("name,text,place\nAnn,One\n\nBob,Two,Hull,extra\n")[0]
    assert [(c.name, c.text, c.place) for c in article.comments] == [("Ann", "One", None), ("Bob", "Two", "Hull")]


# -- through the stages -----------------------------------------------------------------------------------------
def _mixed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mixed"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(next(SEEDS_DIR.glob("002_*.txt")), folder)
    shutil.copy(HTML_FIXTURES / "wordpress_blog.html", folder)  # parser html.v1 (tests/test_parse_html*.py)
    for name in ("comments.csv", "comments.tsv", "comments.jsonl", "disqus.xml"):
        shutil.copy(EXPORTS / name, folder / "nested" / name if name.endswith(".xml") else folder / name)
    _write_parquet(folder / "comments.parquet")
    return folder


def test_mixed_folder_ingests_and_parses_in_one_call_and_reingest_is_idempotent(ctx, store, tmp_path):
    ctx.quarantine.policy = "quarantine"
    folder = _mixed_folder(tmp_path)
    ingest_stats = ingest_paths(ctx, [folder])
    parse_stats = parse_run(ctx)
    assert ingest_stats["sources_new"] == 7 and ingest_stats["quarantined"] == 0
    # seed 002: 1 article / 3 comments; html 1/3; csv 2/4; tsv 2/3; jsonl 2/3; parquet 1/2; disqus 2/3
    assert (parse_stats["sources_parsed"], parse_stats["sources_failed"]) == (7, 0)
    assert (parse_stats["articles"], parse_stats["comments"]) == (11, 21)
    counts = store.counts()
    assert (counts["sources"], counts["articles"], counts["comments"]) == (7, 11, 21)
    formats = dict(store.query("SELECT format, count(*) FROM sources GROUP BY format").to_numpy().tolist())
    assert formats == {"text_dump": 1, "html": 1, "csv": 2, "jsonl": 1, "parquet": 1, "disqus_xml": 1}
    parsers = dict(store.query("SELECT parser_id, count(*) FROM articles GROUP BY parser_id").to_numpy().tolist())
    parsers = {pid.split("+")[0]: n for pid, n in parsers.items()}  # html ids carry a hash of the site profiles
    assert parsers == {"text_dump.v1": 1, "html.v1": 1, "table.v1": 7, "disqus.v1": 2}
    # every problem is in the quarantine, with its file and item
    errors = store.query("SELECT uri, item_ref, reason FROM errors ORDER BY uri, item_ref").to_numpy().tolist()
    assert errors == [
        [str(folder / "comments.csv"), "date column", "unparsed_date"],
        [str(folder / "comments.csv"), "row 4", "empty_comment"],
        [str(folder / "comments.jsonl"), "line 4", "bad_json_line"],
        [str(folder / "comments.jsonl"), "line 5", "bad_json_line"],
        [str(folder / "comments.parquet"), "line 3", "empty_comment"],
        [str(folder / "nested" / "disqus.xml"), "deleted and spam posts", "deleted_or_spam"],
    ]
    # comment rows keep their source ids, dates and reply links
    reply = store.query("SELECT published, date_raw, parent_external_id FROM comments WHERE external_id = 'c2'")
    assert reply.to_numpy().tolist()[0][1:] == ["02/09/2011", "c1"]
    assert str(reply["published"][0])[:10] == "2011-09-02"

    first = store.counts()
    again = ingest_paths(ctx, [folder])
    reparse = parse_run(ctx)
    assert again["sources_unchanged"] == 7 and reparse["sources_parsed"] == 0
    assert store.counts() == first


def test_a_new_export_of_the_same_threads_updates_instead_of_duplicating(ctx, store, tmp_path):
    ctx.quarantine.policy = "quarantine"
    first = tmp_path / "day1.csv"
    first.write_text("article_id,id,text\nA1,1,One\nA1,2,Two\n", "utf-8")
    second = tmp_path / "day2.csv"
    second.write_text("article_id,id,text\nA1,1,One\nA1,2,Two\nA1,3,Three\n", "utf-8")
    ingest_paths(ctx, [first])
    parse_run(ctx)
    ingest_paths(ctx, [second])
    parse_run(ctx)
    assert (store.count("articles"), store.count("comments")) == (1, 3)


def test_empty_article_bodies_pass_segmentation(ctx, store, tmp_path):
    from commentminer.segment.stage import run as segment_run

    ctx.config.segment.backend = "sentencizer.v1"
    path = tmp_path / "c.csv"
    path.write_text("text\nFirst point here. Second point there.\n", "utf-8")
    ingest_paths(ctx, [path])
    parse_run(ctx)
    stats = segment_run(ctx)
    kinds = store.query("SELECT kind, count(*) FROM units GROUP BY kind").to_numpy().tolist()
    assert kinds == [["comment", 2]] and stats["parents_segmented"] == 2


def test_cli_ingest_with_map(tmp_path):
    db = tmp_path / "store.duckdb"
    result = subprocess.run(
        [sys.executable, "-m", "commentminer.cli", "ingest", str(EXPORTS / "mapped.csv"),
         "--map", "text=body,name=user,place=town", "--db", str(db), "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "1 articles, 2 comments" in result.stdout
    from commentminer.store import Store

    with Store(db) as store:
        rows = store.query("SELECT name, place, text, date_raw FROM comments ORDER BY position").to_numpy().tolist()
        options = store.query("SELECT options_json FROM sources").iloc[0, 0]
    # posted_on is not a default date column and was not mapped, so no dates
    assert rows == [["Ann", "Hull", "Commissioning needs managers.", None],
                    ["Ben", "Leeds", "Agreed with Ann.", None]]
    assert json.loads(options) == {"map": {"text": "body", "name": "user", "place": "town"}}


def test_cli_bad_map_is_a_one_line_error_naming_the_column(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "commentminer.cli", "ingest", str(EXPORTS / "mapped.csv"),
         "--map", "text=comment", "--db", str(tmp_path / "s.duckdb"), "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert "no column 'comment'" in result.stderr and "'body', 'user', 'town', 'posted_on', 'story'" in result.stderr
    assert "Traceback" not in result.stderr
