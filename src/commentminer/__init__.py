"""commentminer: mine reader comments for themes, sentiment and regions.

Public API (importing this package does not import torch, spaCy or BERTopic):

    from commentminer import run, ingest, analyse, report, query, load_config
"""

from .api import analyse, ingest, query, report, run, to_bertopic
from .config import Config, load_config
from .errors import CommentminerError

__all__ = ["run", "ingest", "analyse", "report", "query", "to_bertopic", "load_config", "Config", "CommentminerError"]
__version__ = "0.1.0"
