"""The store: DuckDB tables (schema in commentminer.schema), Parquet/CSV export and import."""

from .duck import Store
from .quarantine import Quarantine

__all__ = ["Store", "Quarantine"]
