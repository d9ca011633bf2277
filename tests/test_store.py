import pandas as pd
import pytest

from commentminer.errors import StoreError
from commentminer.schema import ALL_TABLES
from commentminer.store import Quarantine, Store


def _source(source_id="src_1", text="hello"):
    return pd.DataFrame([{
        "source_id": source_id, "uri": "a.txt", "format": "text_dump", "sha256": "x", "size_bytes": len(text),
        "raw_text": text, "ingested_at": pd.Timestamp("2026-01-01"), "content_type": None, "options_json": None,
    }])


def test_all_tables_created(store):
    assert set(store.counts()) == {t.name for t in ALL_TABLES}


def test_upsert_by_primary_key_is_idempotent(store):
    store.upsert("sources", _source())
    store.upsert("sources", _source(text="changed"))
    assert store.count("sources") == 1
    assert store.read("sources")["raw_text"].iloc[0] == "changed"


def test_upsert_rejects_columns_not_in_schema(store):
    frame = _source().assign(extra=1)
    with pytest.raises(StoreError, match=r"sources: columns do not match schema .*extra \['extra'\]"):
        store.upsert("sources", frame)


def test_parquet_round_trip(tmp_path, store):
    store.upsert("sources", _source())
    path = store.export("sources", tmp_path / "sources.parquet")
    with Store(":memory:") as other:
        assert other.import_parquet("sources", path) == 1
        assert other.read("sources")["raw_text"].tolist() == ["hello"]


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="store not found"):
        Store(tmp_path / "nope.duckdb", create=False)


def test_quarantine_records_or_raises(store):
    Quarantine(store, "quarantine").report("ingest", "x.txt", "empty_file", "the file is empty")
    row = store.read("errors").iloc[0]
    assert (row["uri"], row["reason"], row["stage"]) == ("x.txt", "empty_file", "ingest")
    with pytest.raises(Exception, match="x.txt: the file is empty"):
        Quarantine(store, "raise").report("ingest", "x.txt", "empty_file", "the file is empty")


def test_older_store_gains_new_columns(tmp_path):
    path = tmp_path / "old.duckdb"
    import duckdb
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE units (unit_id VARCHAR PRIMARY KEY, kind VARCHAR, text VARCHAR)")
    con.execute("INSERT INTO units VALUES ('u1', 'comment', 'hello')")
    con.close()
    with Store(path) as store:
        row = store.read("units").iloc[0]
        assert row["unit_id"] == "u1" and row["text"] == "hello"
        assert pd.isna(row["role"])   # added as null


def test_memory_limit_from_config_caps_store_files_only(tmp_path):
    from commentminer.config import load_config

    cfg = load_config(None, overrides=["store.memory_limit=300MB"])
    with Store.from_config(cfg, tmp_path / "capped.duckdb") as capped:
        limit = capped.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        assert limit.replace(" ", "") in {"300.0MB", "286.1MiB"}
    with Store(":memory:") as in_memory:  # its tables live in that memory: a cap would fail big corpora
        limit = in_memory.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        assert limit.replace(" ", "") not in {"512.0MB", "488.2MiB"}


def test_memory_limit_must_be_a_size():
    from commentminer.config import load_config
    from commentminer.errors import ConfigError

    with pytest.raises(ConfigError, match="memory_limit"):
        load_config(None, overrides=["store.memory_limit=1GB'; DROP TABLE units; --"])
