"""Ingest stage: files/folders -> sources, bad input -> quarantine or InputError, idempotent re-ingest."""

from pathlib import Path

import pytest

from commentminer.errors import InputError
from commentminer.ids import content_id, sha256_bytes
from commentminer.ingest.files import decode_text, read_text_file
from commentminer.ingest.stage import ingest_paths
from commentminer.parse.stage import run as parse_run

BAD_INPUT = Path(__file__).resolve().parent / "fixtures" / "bad_input"


@pytest.fixture
def quarantine_ctx(ctx):
    ctx.quarantine.policy = "quarantine"
    return ctx


@pytest.fixture
def raise_ctx(ctx):
    ctx.quarantine.policy = "raise"
    return ctx


def _errors(store):
    return store.read("errors").sort_values("uri").reset_index(drop=True)


def test_seeds_folder_becomes_one_source_per_file_with_raw_text_kept(quarantine_ctx, seeds_dir):
    stats = ingest_paths(quarantine_ctx, [seeds_dir])
    assert stats == {"files_seen": 5, "sources_new": 5, "sources_updated": 0, "sources_unchanged": 0, "quarantined": 0}
    sources = quarantine_ctx.store.read("sources").set_index("uri")
    for path in sorted(seeds_dir.glob("*.txt")):
        row = sources.loc[str(path)]
        data = path.read_bytes()
        assert row.raw_text == data.decode("utf-8")  # exactly as in the file
        assert row.source_id == content_id("src", sha256_bytes(data))
        assert (row.format, row.sha256, row.size_bytes) == ("text_dump", sha256_bytes(data), len(data))


def test_reingesting_and_reparsing_the_seeds_changes_no_row_count(quarantine_ctx, store, seeds_dir):
    ingest_paths(quarantine_ctx, [seeds_dir])
    parse_run(quarantine_ctx)
    first = store.counts()
    first_sources = store.read("sources").sort_values("source_id").reset_index(drop=True)
    assert (first["sources"], first["articles"], first["comments"], first["errors"]) == (5, 5, 18, 0)

    stats = ingest_paths(quarantine_ctx, [seeds_dir])
    parse_stats = parse_run(quarantine_ctx)
    assert store.counts() == first
    assert stats["sources_unchanged"] == 5 and stats["sources_new"] == 0
    assert parse_stats["sources_parsed"] == 0
    # nothing was rewritten: the original ingest times are kept
    assert store.read("sources").sort_values("source_id").reset_index(drop=True).equals(first_sources)


def test_same_content_under_a_new_path_updates_uri_only(quarantine_ctx, store, seeds_dir, tmp_path):
    ingest_paths(quarantine_ctx, [seeds_dir])
    copy = tmp_path / "copy.txt"
    copy.write_bytes((seeds_dir / "002_2f9c677b878fa41c.txt").read_bytes())
    stats = ingest_paths(quarantine_ctx, [copy])
    assert stats["sources_updated"] == 1
    assert store.count("sources") == 5
    assert store.count("sources", "uri = ?", [str(copy)]) == 1


def test_folder_is_searched_recursively_with_patterns_in_sorted_order(quarantine_ctx, store, tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.txt").write_text("Two\n\nBody two.")
    (tmp_path / "a_one.txt").write_text("One\n\nBody one.")
    (tmp_path / "notes.md").write_text("not matched by *.txt")
    stats = ingest_paths(quarantine_ctx, [tmp_path])
    assert stats["files_seen"] == 2
    assert sorted(store.read("sources")["uri"]) == [str(tmp_path / "a_one.txt"), str(tmp_path / "b" / "two.txt")]


def test_bad_files_are_quarantined_with_reason_and_the_rest_ingested(quarantine_ctx, store, seeds_dir, tmp_path):
    huge = tmp_path / "huge.txt"
    huge.write_text("x" * 20_000)
    quarantine_ctx.config.ingest.max_file_bytes = 10_000
    missing = tmp_path / "missing.txt"
    paths = [BAD_INPUT / "empty.txt", BAD_INPUT / "binary.txt", huge, missing, seeds_dir / "003_1b21842f3693ef0c.txt"]

    stats = ingest_paths(quarantine_ctx, paths)

    assert stats["quarantined"] == 4 and stats["sources_new"] == 1
    errors = _errors(store).set_index("uri")
    assert errors.loc[str(BAD_INPUT / "empty.txt"), "reason"] == "empty_file"
    assert errors.loc[str(BAD_INPUT / "binary.txt"), "reason"] == "binary_file"
    assert errors.loc[str(huge), "reason"] == "too_large"
    assert "20,000 bytes" in errors.loc[str(huge), "detail"]
    assert errors.loc[str(missing), "reason"] == "not_found"
    assert set(errors["stage"]) == {"ingest"}
    assert store.read("sources")["uri"].tolist() == [str(seeds_dir / "003_1b21842f3693ef0c.txt")]


def test_quarantining_the_same_bad_file_twice_keeps_one_error_row(quarantine_ctx, store):
    ingest_paths(quarantine_ctx, [BAD_INPUT / "empty.txt"])
    ingest_paths(quarantine_ctx, [BAD_INPUT / "empty.txt"])
    assert store.count("errors") == 1


def test_folder_without_matching_files_is_reported(quarantine_ctx, store, tmp_path):
    ingest_paths(quarantine_ctx, [tmp_path])
    assert _errors(store)[["uri", "reason"]].values.tolist() == [[str(tmp_path), "no_files"]]


@pytest.mark.parametrize(
    "name, reason", [("empty.txt", "empty_file"), ("binary.txt", "binary_file"), ("missing.txt", "not_found")]
)
def test_raise_policy_raises_input_error_naming_the_file(raise_ctx, store, name, reason):
    path = BAD_INPUT / name
    with pytest.raises(InputError, match=rf"^{path}: ") as info:
        ingest_paths(raise_ctx, [path])
    assert info.value.reason == reason
    assert store.count("errors") == 0


def test_raise_policy_keeps_files_read_before_the_bad_one(raise_ctx, store, seeds_dir):
    with pytest.raises(InputError):
        ingest_paths(raise_ctx, [seeds_dir / "003_1b21842f3693ef0c.txt", BAD_INPUT / "empty.txt"])
    assert store.count("sources") == 1


def test_whitespace_only_file_is_empty(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_bytes(b"\xef\xbb\xbf \n\t\n")
    assert read_text_file(path, max_bytes=1000).reason == "empty_file"


def test_decoding_rule():
    assert decode_text("café “quoted”".encode("utf-8")) == ("café “quoted”", "utf-8")
    assert decode_text(b"\xef\xbb\xbfwith BOM") == ("with BOM", "utf-8")
    # Windows-1252 text (curly quotes 0x93/0x94) is accepted via the fallback...
    assert decode_text(b"\x93Quoted\x94 caf\xe9") == ("“Quoted” café", "cp1252")
    # ...but not when the fallback is switched off, nor for bytes with control characters or NULs
    assert decode_text(b"\x93Quoted\x94", fallback_encoding="") is None
    assert decode_text(b"\x01\x02\x93\x94binary") is None
    assert decode_text(b"text\x00with NUL") is None


def test_a_13_mb_comment_export_is_read_with_the_default_caps(quarantine_ctx, store, tmp_path):
    """Issue 11: no input-size cap may get in the way of a 13 MB comment export (the SFU C3 file is 12.9 MB)."""
    from commentminer.config import IngestConfig

    assert quarantine_ctx.config.ingest == IngestConfig()   # the defaults
    export = tmp_path / "comments.csv"
    row = "a1,Some reader,\"A comment long enough to matter, with a comma, repeated to fill the file.\"\n"
    export.write_text("article_id,name,comment_text\n" + row * (13_000_000 // len(row) + 1))
    assert export.stat().st_size > 13_000_000 > quarantine_ctx.config.ingest.max_file_bytes
    stats = ingest_paths(quarantine_ctx, [export])
    assert (stats["sources_new"], stats["quarantined"]) == (1, 0)
    assert store.query("SELECT size_bytes FROM sources").iloc[0, 0] == export.stat().st_size


@pytest.mark.parametrize("name, content, key", [
    ("page.html", "<html><body><p>" + "x" * 3000 + "</p></body></html>", "max_file_bytes"),
    ("dump.txt", "Title\n\n" + "x" * 3000, "max_file_bytes"),
    ("comments.csv", "comment_text\n" + "x" * 3000 + "\n", "max_export_bytes"),
    ("comments.jsonl", '{"text": "' + "x" * 3000 + '"}\n', "max_export_bytes"),
])
def test_pages_and_exports_have_their_own_cap_and_the_refusal_names_its_fix(quarantine_ctx, store, tmp_path,
                                                                            name, content, key):
    path = tmp_path / name
    path.write_text(content)
    setattr(quarantine_ctx.config.ingest, key, 1000)
    other = "max_export_bytes" if key == "max_file_bytes" else "max_file_bytes"
    assert getattr(quarantine_ctx.config.ingest, other) > 3000
    ingest_paths(quarantine_ctx, [path])
    error = _errors(store).iloc[0]
    assert error.reason == "too_large"
    assert f"([ingest] {key})" in error.detail and f"--set ingest.{key}=10000" in error.detail
    # the suggested override reads the file
    setattr(quarantine_ctx.config.ingest, key, 10000)
    assert ingest_paths(quarantine_ctx, [path])["sources_new"] == 1


def test_a_parquet_export_is_capped_by_max_export_bytes(quarantine_ctx, store, tmp_path):
    import pandas as pd

    path = tmp_path / "comments.parquet"
    pd.DataFrame({"comment_text": ["y" * 5000]}).to_parquet(path)
    quarantine_ctx.config.ingest.max_file_bytes = 100          # pages' cap: not the one for exports
    assert ingest_paths(quarantine_ctx, [path])["sources_new"] == 1
    quarantine_ctx.config.ingest.max_export_bytes = 100
    other = tmp_path / "other.parquet"
    pd.DataFrame({"comment_text": ["z" * 5000]}).to_parquet(other)
    ingest_paths(quarantine_ctx, [other])
    assert "--set ingest.max_export_bytes=" in _errors(store).iloc[0].detail
