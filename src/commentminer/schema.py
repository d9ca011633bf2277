"""Table schemas: the single source of truth for every column in the store.

Stages meet only at these named tables. Each table lists its columns (DuckDB types) and its primary key; the
store creates tables from here and every stage writes pandas DataFrames whose columns match exactly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """A table: ordered columns (name -> DuckDB type) and primary-key column names."""

    name: str
    columns: tuple[tuple[str, str], ...]
    primary_key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def ddl(self) -> str:
        cols = ",\n  ".join(f"{name} {type_}" for name, type_ in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n  {cols},\n  PRIMARY KEY ({', '.join(self.primary_key)})\n)"


def _table(name: str, primary_key: tuple[str, ...], *columns: tuple[str, str]) -> Table:
    return Table(name=name, columns=tuple(columns), primary_key=primary_key)


# Raw input exactly as read (never modified); parse re-reads from here, so re-parsing never re-reads files.
SOURCES = _table(
    "sources", ("source_id",),
    ("source_id", "VARCHAR"),      # content-derived: hash of the raw bytes
    ("uri", "VARCHAR"),            # file path or URL it was read from (last seen)
    ("format", "VARCHAR"),         # "text_dump" | "html" | "csv" | "jsonl" | "parquet" | "disqus_xml"
    ("content_type", "VARCHAR"),   # HTTP Content-Type for fetched pages, else null
    ("sha256", "VARCHAR"),
    ("size_bytes", "BIGINT"),
    ("raw_text", "VARCHAR"),       # decoded text; Parquet files are stored as JSON Lines of their rows
    ("options_json", "VARCHAR"),   # how to read it, e.g. an export's column mapping; null when not needed
    ("ingested_at", "TIMESTAMP"),
)

# Which parser has parsed which source (and with what outcome). Sources stay raw; this marks the work done, so
# several sources of one article (a page scraped twice) are each parsed once, not forever.
SOURCE_PARSES = _table(
    "source_parses", ("source_id", "parser_id"),
    ("source_id", "VARCHAR"),
    ("parser_id", "VARCHAR"),
    ("status", "VARCHAR"),         # "ok" | "failed"
    ("n_articles", "INTEGER"),
    ("n_comments", "INTEGER"),
    ("parsed_at", "TIMESTAMP"),
)

ARTICLES = _table(
    "articles", ("article_id",),
    ("article_id", "VARCHAR"),     # hash of the article's key: external id, else URL, else title + date
    ("source_id", "VARCHAR"),      # the source it was last parsed from
    ("uri", "VARCHAR"),
    ("url", "VARCHAR"),            # canonical page URL when known
    ("external_id", "VARCHAR"),    # id in the source system (export's article/thread id), else null
    ("title", "VARCHAR"),
    ("published", "DATE"),         # null when the page has no date
    ("date_raw", "VARCHAR"),       # the date string as written on the page
    ("byline", "VARCHAR"),         # null when absent
    ("body", "VARCHAR"),           # article text; unit offsets of kind article/quote point into this
    ("parser_id", "VARCHAR"),
)

COMMENTS = _table(
    "comments", ("comment_id",),
    ("comment_id", "VARCHAR"),     # hash of article_id + external id, else of article_id + name + text (+ the
                                   # occurrence number from the 2nd identical comment on: "Agreed." twice is two)
    ("article_id", "VARCHAR"),
    ("source_id", "VARCHAR"),      # the source it was last parsed from
    ("position", "INTEGER"),       # 0-based order on the page
    ("text", "VARCHAR"),           # comment text, quotes stripped, lines joined
    ("name", "VARCHAR"),           # commenter name; null when withheld or unsigned
    ("place", "VARCHAR"),          # text after the name in the signature (town, county, practice...); may be null
    ("withheld", "BOOLEAN"),       # "Name and address withheld"
    ("signature_raw", "VARCHAR"),  # the signature as written, null when unsigned
    ("commenter_id", "VARCHAR"),   # hash of normalised name+place; per-comment id when withheld/unsigned
    ("published", "DATE"),         # comment date when the source has one (the seeds do not)
    ("date_raw", "VARCHAR"),       # the comment date as written
    ("external_id", "VARCHAR"),    # id in the source system, else null
    ("parent_external_id", "VARCHAR"),  # the comment it replies to, when the source says so
    ("truncated", "BOOLEAN"),      # the page was cut off inside this comment: kept, but left out of commenter
                                   # counts, quotes and regional figures (null in stores written before: false)
)

# Sentence-level units. char_start/char_end index into the parent text: comments.text for kind "comment",
# articles.body for kinds "article" and "quote".
UNITS = _table(
    "units", ("unit_id",),
    ("unit_id", "VARCHAR"),        # hash of parent id + kind + offsets
    ("kind", "VARCHAR"),           # "article" | "comment" | "quote" (a quoted voice in an article body)
    ("article_id", "VARCHAR"),
    ("comment_id", "VARCHAR"),     # null for article/quote units
    ("position", "INTEGER"),       # sentence index within the parent
    ("text", "VARCHAR"),
    ("char_start", "INTEGER"),
    ("char_end", "INTEGER"),
    ("text_hash", "VARCHAR"),      # sha256 of text: the embedding cache key
    ("speaker", "VARCHAR"),        # quoted voices: who is speaking (else null; null too for an unnamed speaker)
    ("role", "VARCHAR"),           # quoted voices: their role, e.g. "practice manager" (else null)
    ("place", "VARCHAR"),          # quoted voices: their place (else null)
    ("segmenter_id", "VARCHAR"),
)

EMBEDDINGS = _table(
    "embeddings", ("text_hash", "model_id"),
    ("text_hash", "VARCHAR"),
    ("model_id", "VARCHAR"),
    ("dim", "INTEGER"),
    ("vector", "BLOB"),            # L2-normalised, float16: `dim` little-endian halves (store/vectors.py)
)

# Other heads of the embedding model's pass, cached like vectors: the sentiment branch's logits of a text, so the
# sentiment stage does not run the model again. output_id names the head (the sentiment backend id).
ENCODER_OUTPUTS = _table(
    "encoder_outputs", ("text_hash", "output_id"),
    ("text_hash", "VARCHAR"),
    ("output_id", "VARCHAR"),
    ("output", "FLOAT[]"),
)

# Per-run theme results (themes are re-fitted per run; run_id ties them to the stored config). theme_id is the
# stable id from theme_registry: a theme matched to an earlier run's keeps its id (and label).
THEMES = _table(
    "themes", ("run_id", "theme_id"),
    ("run_id", "VARCHAR"),
    ("theme_id", "INTEGER"),       # -1 = "other" (units that fit no theme)
    ("label", "VARCHAR"),          # grounded phrase (1-4 words) that occurs in member units; a parent whose
                                   # children share none: their labels ("A, B and 2 more", hierarchy.children_label)
    ("keywords", "VARCHAR[]"),
    ("kind", "VARCHAR"),           # "guided" | "discovered" | "other" | "parent"
    ("n_units", "INTEGER"),
    ("n_comments", "INTEGER"),     # distinct comments with at least one member unit
    ("n_commenters", "INTEGER"),
    ("name", "VARCHAR"),           # guided themes: the name from the guided-themes file, else null
    ("parent_id", "INTEGER"),      # the parent theme (kind "parent"), null at the top level
    ("summary", "VARCHAR"),        # 2-3 member sentences (extractive), joined by spaces
    ("summary_unit_ids", "VARCHAR[]"),  # the units the summary sentences are
    ("centroid", "FLOAT[]"),       # L2-normalised mean of member vectors (matching across runs)
    ("matched_similarity", "DOUBLE"),   # cosine to the registered theme whose id it kept; null when new
    ("focus", "DOUBLE"),           # share of its sampled members with one of its top keywords; null for "other"
    ("loose", "BOOLEAN"),          # focus below [themes] loose_focus: grouped by tone or form, not by subject
)

# Every theme any run has produced, by stable id: what a new run matches its themes against.
THEME_REGISTRY = _table(
    "theme_registry", ("theme_id",),
    ("theme_id", "INTEGER"),
    ("kind", "VARCHAR"),           # "guided" | "discovered" | "parent"
    ("key", "VARCHAR"),            # guided themes: "guided:<name>" (matched by name); else null (by centroid)
    ("label", "VARCHAR"),          # the label it had last
    ("centroid", "FLOAT[]"),
    ("first_run", "VARCHAR"),
    ("last_run", "VARCHAR"),
    ("n_units", "INTEGER"),        # size in its last run
)

# How a run's themes differ from the previous run's: one row per change.
THEME_CHANGES = _table(
    "theme_changes", ("run_id", "seq"),
    ("run_id", "VARCHAR"),
    ("seq", "INTEGER"),
    ("previous_run_id", "VARCHAR"),
    ("change", "VARCHAR"),         # "new" | "merged" | "split" | "gone"
    ("from_ids", "INTEGER[]"),     # theme ids in the previous run
    ("to_ids", "INTEGER[]"),       # theme ids in this run
    ("detail", "VARCHAR"),
)

UNIT_THEMES = _table(
    "unit_themes", ("run_id", "unit_id"),
    ("run_id", "VARCHAR"),
    ("unit_id", "VARCHAR"),
    ("theme_id", "INTEGER"),
    ("probability", "DOUBLE"),     # cosine to the theme (guided: to its seeds; discovered: to its centroid)
    ("quote_rank", "INTEGER"),     # 1..n for the theme's representative quotes, else null
)

SENTIMENT = _table(
    "sentiment", ("target_kind", "target_id", "backend_id"),
    ("target_kind", "VARCHAR"),    # "unit" | "comment"
    ("target_id", "VARCHAR"),
    ("backend_id", "VARCHAR"),
    ("label", "VARCHAR"),          # "negative" | "neutral" | "positive"
    ("score", "DOUBLE"),           # in [-1, 1]
    ("confidence", "DOUBLE"),      # in [0, 1]
)

# Place resolution per subject: a comment (its signature place) or a quote unit (the quoted person's place).
REGIONS = _table(
    "regions", ("subject_kind", "subject_id", "resolver_id"),
    ("subject_kind", "VARCHAR"),   # "comment" | "unit"
    ("subject_id", "VARCHAR"),
    ("resolver_id", "VARCHAR"),
    ("place_raw", "VARCHAR"),      # null when the signature had no place
    ("region", "VARCHAR"),         # one of the 12 UK regions, or null
    ("matched_name", "VARCHAR"),
    ("method", "VARCHAR"),         # "exact" | "alias" | "county" | "region" | "organisation" | "fuzzy" | "none"
    ("confidence", "DOUBLE"),
    ("reason", "VARCHAR"),         # why unresolved (null when resolved)
    ("ambiguous", "BOOLEAN"),      # the name is shared by several regions: picked by the stated rule, or none
)

RUNS = _table(
    "runs", ("run_id",),
    ("run_id", "VARCHAR"),
    ("started_at", "TIMESTAMP"),
    ("finished_at", "TIMESTAMP"),
    ("status", "VARCHAR"),         # "running" | "ok" | "failed" | "interrupted" (killed; marked by the next run)
    ("config_json", "VARCHAR"),    # the resolved config, so a report can be reproduced
    ("config_hash", "VARCHAR"),
    ("versions_json", "VARCHAR"),  # package versions + model ids
    ("stats_json", "VARCHAR"),     # per-stage counts
)

# Quarantine: items a stage could not process, with the reason. Nothing is silently dropped.
ERRORS = _table(
    "errors", ("error_id",),
    ("error_id", "VARCHAR"),       # hash of stage + item_ref + reason
    ("stage", "VARCHAR"),
    ("uri", "VARCHAR"),            # file/URL the item came from
    ("item_ref", "VARCHAR"),       # which item inside it (e.g. "comment 3"), may be null
    ("reason", "VARCHAR"),         # short machine-friendly reason, e.g. "empty_file"
    ("detail", "VARCHAR"),         # human sentence saying what is wrong
    ("created_at", "TIMESTAMP"),
)

# Scrape crawls: one row per crawl of a list of start URLs and/or a sitemap. The next scrape of the same inputs
# resumes an unfinished crawl (finished_at null) and starts a new generation after a finished one.
CRAWLS = _table(
    "crawls", ("crawl_id",),
    ("crawl_id", "VARCHAR"),       # hash of crawl_key + generation
    ("crawl_key", "VARCHAR"),      # hash of the start URLs and sitemap URL
    ("generation", "INTEGER"),     # 1 for the first crawl of these inputs, then 2, 3, ...
    ("started_at", "TIMESTAMP"),
    ("finished_at", "TIMESTAMP"),  # null while the crawl is unfinished (interrupted or stopped at max_pages)
    ("stats_json", "VARCHAR"),     # counts of the latest scrape call of this crawl
)

# A crawl's frontier and the outcome per URL: resuming skips what is done; conditional requests (ETag,
# Last-Modified) are built from the last fetch of a URL; bodies are in the raw store under sha256.
CRAWL_URLS = _table(
    "crawl_urls", ("crawl_id", "url"),
    ("crawl_id", "VARCHAR"),
    ("url", "VARCHAR"),            # the URL as requested (before redirects)
    ("kind", "VARCHAR"),           # "page" | "sitemap" | "robots"
    ("position", "INTEGER"),       # crawl order: start URLs first, then sitemap entries as found
    ("depth", "INTEGER"),          # sitemap nesting depth of the sitemap that listed it (0 = given by the user)
    ("status", "VARCHAR"),         # "pending" | "fetched" | "not_modified" | "skipped" | "failed"; robots also
                                   # "missing" (4xx: allow all) | "unavailable" (5xx/unreachable: disallow all)
    ("http_status", "INTEGER"),
    ("final_url", "VARCHAR"),      # after redirects
    ("content_type", "VARCHAR"),   # the response's Content-Type header
    ("sha256", "VARCHAR"),         # body in the raw store
    ("source_id", "VARCHAR"),      # the sources row made from it (pages)
    ("etag", "VARCHAR"),
    ("last_modified", "VARCHAR"),
    ("reason", "VARCHAR"),         # why skipped/failed (as in `errors`), else null
    ("fetched_at", "TIMESTAMP"),
)

# How each run's themes came about: a full fit, or new units placed into an earlier fit's themes (incremental).
THEME_RUNS = _table(
    "theme_runs", ("run_id",),
    ("run_id", "VARCHAR"),
    ("mode", "VARCHAR"),           # "full" | "incremental"
    ("fit_run_id", "VARCHAR"),     # the run whose full fit these themes come from (itself when mode = full)
    ("previous_run_id", "VARCHAR"),  # the themed run before this one (what "grew" compares to), null if none
    ("fit_key", "VARCHAR"),        # hash of the fit's settings ([themes] minus refit keys, guided file, model)
    ("model_id", "VARCHAR"),       # embedding model of the vectors themed
    ("n_units", "INTEGER"),        # units themed in this run
    ("units_at_fit", "INTEGER"),   # units the full fit saw
    ("unseen_units", "INTEGER"),   # units added or removed since that fit (0 after a full fit)
    ("new_units", "INTEGER"),      # units this run placed without a fit (incremental), else units new since the last run
    ("other_share_fit", "DOUBLE"), # share of units in "other" after the full fit
    ("other_share_new", "DOUBLE"), # share of this run's new units in "other" (incremental; null after a full fit)
    ("reason", "VARCHAR"),         # why a full fit ran ("first fit", "--refit", ...) or "no refit needed"
    ("created_at", "TIMESTAMP"),
)

# Articles the voices extractor has read (with or without voices found), so a re-run skips them.
VOICES_READ = _table(
    "voices_read", ("article_id", "extractor_id"),
    ("article_id", "VARCHAR"),
    ("extractor_id", "VARCHAR"),
    ("n_voices", "INTEGER"),
    ("read_at", "TIMESTAMP"),
)

ALL_TABLES: tuple[Table, ...] = (
    SOURCES, SOURCE_PARSES, ARTICLES, COMMENTS, UNITS, EMBEDDINGS, ENCODER_OUTPUTS, THEMES, UNIT_THEMES, SENTIMENT, REGIONS, RUNS, ERRORS,
    THEME_REGISTRY, THEME_CHANGES, THEME_RUNS, VOICES_READ,
    CRAWLS, CRAWL_URLS,
)
TABLES: dict[str, Table] = {t.name: t for t in ALL_TABLES}

UNIT_KINDS = ("article", "comment", "quote")
SENTIMENT_LABELS = ("negative", "neutral", "positive")
UK_REGIONS = (
    "North East", "North West", "Yorkshire and The Humber", "East Midlands", "West Midlands", "East of England",
    "London", "South East", "South West", "Wales", "Scotland", "Northern Ireland",
)
