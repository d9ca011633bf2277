"""Backend registry: versioned names -> "module:attr" strings, imported only when used.

Keeping the targets as strings means `import commentminer` and `commentminer --help` never import torch,
spaCy or BERTopic. Backend constructors only store parameters; heavy work happens on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import BackendError

BACKENDS: dict[str, dict[str, str]] = {
    "parse": {
        "text_dump.v1": "commentminer.parse.text_dump:TextDumpParser",
        "html.v1": "commentminer.parse.html_page:HtmlPageParser",
        "table.v1": "commentminer.parse.table_export:TableExportParser",
        "disqus.v1": "commentminer.parse.disqus:DisqusParser",
    },
    "segment": {
        "spacy.v1": "commentminer.segment.spacy_segmenter:SpacySegmenter",
        "sentencizer.v1": "commentminer.segment.spacy_segmenter:RuleSentencizer",
    },
    "voices": {
        "spacy.v1": "commentminer.voices.spacy_voices:SpacyVoiceExtractor",
    },
    "embed": {
        "onnx.v1": "commentminer.embed.onnx_embedder:OnnxEmbedder",
        "sentence_transformers.v1": "commentminer.embed.st_embedder:SentenceTransformerEmbedder",
    },
    "themes": {
        "bertopic.v1": "commentminer.themes.bertopic_model:BertopicThemeModel",
    },
    "sentiment": {
        "vader.v1": "commentminer.sentiment.vader:VaderSentiment",
        "minilm_mlp.v1": "commentminer.sentiment.embedding_model:EmbeddingSentiment",
        "minilm_lora.v1": "commentminer.sentiment.lora_model:LoraSentiment",
    },
    "regions": {
        "gazetteer.v1": "commentminer.regions.gazetteer:GazetteerResolver",
    },
}


# Backends that import torch when they run; every other backend runs without it (see commentminer/torchless.py).
TORCH_BACKENDS: set[tuple[str, str]] = {("embed", "sentence_transformers.v1")}


def needs_torch(config: Any) -> bool:
    """True when a backend the config selects imports torch."""
    chosen = {("embed", config.embed.backend), ("sentiment", config.sentiment.backend),
              ("segment", config.segment.backend), ("themes", config.themes.backend)}
    return bool(chosen & TORCH_BACKENDS)


def resolve(kind: str, name: str) -> Any:
    """Return the backend class registered as `name` for stage `kind` (imports its module now)."""
    try:
        target = BACKENDS[kind][name]
    except KeyError:
        known = ", ".join(sorted(BACKENDS.get(kind, {}))) or "none"
        raise BackendError(f"unknown {kind} backend '{name}' (known: {known}); set [{kind}] backend in the config") from None
    module_name, attr = target.split(":")
    return getattr(importlib.import_module(module_name), attr)


def create(kind: str, name: str, **params: Any) -> Any:
    """Instantiate a registered backend; constructors only store parameters."""
    return resolve(kind, name)(**params)
