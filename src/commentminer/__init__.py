"""commentminer: mine reader comments for themes, sentiment and regions.

Public API (importing this package does not import torch, spaCy or BERTopic):

    from commentminer import run, ingest, analyse, report, query, themes, comments, units, to_bertopic, load_config
"""

import functools
import importlib
import sys
import types

from .api import analyse, comments, ingest, query, report, run, themes, to_bertopic, units
from .config import Config, load_config
from .errors import CommentminerError

__all__ = ["run", "ingest", "analyse", "report", "query", "themes", "comments", "units", "to_bertopic", "load_config", "Config",
           "CommentminerError"]
__version__ = "0.1.0"

# `import commentminer.ingest.stage` (which the stages do) makes Python set the package attribute `ingest` to the
# subpackage, so in a notebook `cm.ingest(...)` worked once and then raised "'module' object is not callable".
# The public functions named like subpackages (ingest, report, themes) therefore keep their names, and stay
# callables that also reach into their subpackage, so `import commentminer.report.html as h` still works.
_PUBLIC = frozenset(__all__)


class _PublicFunction:
    """A public API function that shares its name with a subpackage: calls go to the function, other attribute
    lookups to the subpackage (what `import commentminer.<name>.<module> as x` needs)."""

    def __init__(self, function: types.FunctionType, subpackage: str):
        functools.update_wrapper(self, function)  # name, docstring, __wrapped__ (so help() and signature work)
        self._subpackage = subpackage

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(importlib.import_module(self._subpackage), name)

    def __repr__(self) -> str:
        return f"<function commentminer.{self.__name__}>"


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: object) -> None:
        if name in _PUBLIC and isinstance(value, types.ModuleType):
            return  # the subpackage stays in sys.modules; the public name keeps the function
        super().__setattr__(name, value)


ingest = _PublicFunction(ingest, f"{__name__}.ingest")
report = _PublicFunction(report, f"{__name__}.report")
themes = _PublicFunction(themes, f"{__name__}.themes")
sys.modules[__name__].__class__ = _Package
