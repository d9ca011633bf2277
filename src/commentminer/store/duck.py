"""DuckDB store: creates the tables from `schema`, writes DataFrames per batch in a transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ..config import StoreConfig
from ..errors import StoreError
from ..schema import ALL_TABLES, TABLES, Table
from .vectors import FLOAT16_COLUMNS, float16_array, float16_blobs, iter_vector_chunks

# DuckDB's own memory cap per connection of a store file (its default is 80% of RAM; [store] memory_limit). Past
# it, joins, sorts and aggregates spill to a temporary directory beside the store and cached table blocks are
# evicted: without it, the themes stage's read of a million units with their vectors (a join ordered by unit id)
# held 3 GB in DuckDB alone. An in-memory store is left uncapped: its tables live in that memory and cannot spill.
MEMORY_LIMIT = StoreConfig.model_fields["memory_limit"].default   # "512MB", the config's default (one source)

SCHEMA_VERSION = 3  # 3: embeddings.vector is a float16 BLOB (was FLOAT[]); older stores are converted on open


class Store:
    """A DuckDB file (or ":memory:") holding every commentminer table.

    Writes are upserts keyed by each table's primary key, so writing the same content twice leaves row counts
    unchanged. Every write runs in one transaction: a crash mid-run loses at most the batch in flight.
    """

    def __init__(self, path: str | Path = ":memory:", read_only: bool = False, create: bool = True,
                 memory_limit: str | None = MEMORY_LIMIT):
        self.path = str(path)
        if self.path != ":memory:":
            if (read_only or not create) and not Path(self.path).exists():
                raise StoreError(f"{self.path}: store not found (run `commentminer ingest PATH` or `run` first)")
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise StoreError(f"{self.path}: cannot open DuckDB store ({exc})") from None
        if memory_limit and self.path != ":memory:":
            try:
                self.con.execute(f"SET memory_limit = '{memory_limit}'")
            except duckdb.Error as exc:
                self.con.close()
                raise StoreError(f"{self.path}: bad [store] memory_limit '{memory_limit}' ({exc})") from None
        if not read_only:
            self._migrate()

    @classmethod
    def from_config(cls, cfg, db: str | Path | None = None, **options: Any) -> "Store":
        """The store of config `cfg` ([store] path and memory_limit), or the file `db` when given."""
        return cls(db or cfg.store.path, memory_limit=cfg.store.memory_limit or None, **options)

    # -- lifecycle -------------------------------------------------------------------------------------------
    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def _migrate(self) -> None:
        self.con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        rows = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        row = rows[0] if rows else None
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: written by a newer commentminer (schema {row[0]} > {SCHEMA_VERSION}); upgrade commentminer"
            )
        self._convert_to_float16()
        for table in ALL_TABLES:
            self.con.execute(table.ddl())
            self._add_missing_columns(table)
        self.con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    def _convert_to_float16(self) -> None:
        """Schema 2 -> 3: vectors stored as FLOAT[] lists become float16 BLOBs (store/vectors.py), chunk by chunk.

        The old table is renamed first and dropped last, so a conversion killed midway resumes on the next open.
        """
        for name, column in FLOAT16_COLUMNS.items():
            old = f"{name}_float32_old"
            found = self.con.execute(
                "SELECT table_name, data_type FROM information_schema.columns WHERE table_name IN (?, ?) "
                "AND column_name = ?", [name, old, column]).fetchall()
            types = dict(found)
            if old not in types and types.get(name, "BLOB") == "BLOB":
                continue
            if old not in types:
                self.con.execute(f"ALTER TABLE {name} RENAME TO {old}")
            self.con.execute(TABLES[name].ddl())
            for frame, matrix, has in iter_vector_chunks(self, f"SELECT * FROM {old}", vector_column=column):
                kept = frame[has]
                self.upsert_vectors(name, {c: kept[c].to_numpy() for c in kept.columns}, column, matrix)
                self.upsert(name, frame[~has])
            self.con.execute(f"DROP TABLE {old}")

    def _add_missing_columns(self, table: Table) -> None:
        """Additive migration: columns the schema gained since the store was written are added (as nulls)."""
        existing = {row[0] for row in self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table.name]).fetchall()}
        for name, type_ in table.columns:
            if name not in existing:
                self.con.execute(f"ALTER TABLE {table.name} ADD COLUMN {name} {type_}")

    # -- reads -----------------------------------------------------------------------------------------------
    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run SQL and return a DataFrame."""
        return self.con.execute(sql, params or []).df()

    def read(self, table: str, where: str | None = None, params: list[Any] | None = None) -> pd.DataFrame:
        """All columns of `table` (optionally filtered by a SQL `where` clause), in schema column order."""
        spec = _table(table)
        sql = f"SELECT {', '.join(spec.column_names)} FROM {table}"
        if where:
            sql += f" WHERE {where}"
        return self.query(sql, params)

    def count(self, table: str, where: str | None = None, params: list[Any] | None = None) -> int:
        _table(table)
        sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
        # fetchall, not fetchone: DuckDB refuses register() while a result is only partly fetched.
        return int(self.con.execute(sql, params or []).fetchall()[0][0])

    def counts(self) -> dict[str, int]:
        """Row count of every table."""
        return {t.name: self.count(t.name) for t in ALL_TABLES}

    # -- writes ----------------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def upsert(self, table: str, frame: pd.DataFrame, transaction: bool = True) -> int:
        """Insert or replace rows by primary key.

        `frame` may leave out nullable columns (they are written as null), but a column the table does not have,
        or a missing primary-key column, is an error: a typo never silently drops data. `transaction=False` when
        the caller already holds a transaction.
        """
        spec = _table(table)
        if frame is None or frame.empty:
            return 0
        _check_columns(spec, frame.columns)
        frame = frame.reindex(columns=spec.column_names).drop_duplicates(subset=list(spec.primary_key), keep="last")
        vector_column = FLOAT16_COLUMNS.get(table)
        if vector_column in frame.columns:  # vectors given one per row (lists, arrays) are stored as float16
            frame = frame.assign(**{vector_column: float16_blobs(frame[vector_column])})
        self.con.register("_incoming", frame)
        sql = (f"INSERT OR REPLACE INTO {table} ({', '.join(spec.column_names)}) "
               f"SELECT {', '.join(spec.column_names)} FROM _incoming")
        try:
            if transaction:
                with self.transaction():
                    self.con.execute(sql)
            else:
                self.con.execute(sql)
        finally:
            self.con.unregister("_incoming")
        return len(frame)

    def upsert_vectors(self, table: str, columns: dict[str, Any], vector_column: str, vectors: Any,
                       transaction: bool = True) -> int:
        """Insert or replace rows whose `vector_column` comes from an (n, d) array, without a Python object per row.

        `columns` maps the other columns to length-n sequences or to one scalar for every row; their keys must be
        unique within the call. The vectors travel as one Arrow fixed-size-list array over the matrix's buffer.
        `transaction=False` when the caller already holds a transaction.
        """
        import numpy as np
        import pyarrow as pa

        spec = _table(table)
        names = [*columns, vector_column]
        _check_columns(spec, names)
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        n = len(matrix)
        if n == 0:
            return 0
        arrays = {name: pa.array(value) if np.ndim(value) else pa.array([value] * n) for name, value in columns.items()}
        if FLOAT16_COLUMNS.get(table) == vector_column:
            arrays[vector_column] = float16_array(matrix)
        else:
            arrays[vector_column] = pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])
        self.con.register("_incoming_vectors", pa.table(arrays))
        types = dict(spec.columns)
        select = ", ".join(f"CAST({name} AS {types[name]})" for name in names)
        sql = f"INSERT OR REPLACE INTO {table} ({', '.join(names)}) SELECT {select} FROM _incoming_vectors"
        try:
            if transaction:
                with self.transaction():
                    self.con.execute(sql)
            else:
                self.con.execute(sql)
        finally:
            self.con.unregister("_incoming_vectors")
        return n

    def delete(self, table: str, where: str, params: list[Any] | None = None) -> None:
        _table(table)
        self.con.execute(f"DELETE FROM {table} WHERE {where}", params or [])

    # -- Parquet / CSV ---------------------------------------------------------------------------------------
    def export(self, table: str, path: str | Path, fmt: str = "parquet") -> Path:
        """Write a whole table to Parquet or CSV."""
        _table(table)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt not in {"parquet", "csv"}:
            raise StoreError(f"unknown export format '{fmt}' (use parquet or csv)")
        options = "FORMAT PARQUET" if fmt == "parquet" else "FORMAT CSV, HEADER"
        self.con.execute(f"COPY {table} TO '{_sql_path(path)}' ({options})")
        return path

    def import_parquet(self, table: str, path: str | Path) -> int:
        """Upsert rows from a Parquet file written by `export`."""
        frame = duckdb.query(f"SELECT * FROM read_parquet('{_sql_path(Path(path))}')").df()
        return self.upsert(table, frame)


def _table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise StoreError(f"unknown table '{name}' (known: {', '.join(TABLES)})") from None


def _check_columns(spec: Table, names) -> None:
    """A write's columns must all be the table's and include its primary key: a typo never drops data."""
    extra = set(names) - set(spec.column_names)
    missing_keys = set(spec.primary_key) - set(names)
    if extra or missing_keys:
        raise StoreError(
            f"table {spec.name}: columns do not match schema (missing key columns {sorted(missing_keys)}, "
            f"extra {sorted(extra)})"
        )


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
