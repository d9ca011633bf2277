"""Keep torch out of a command's process when nothing the config chose needs it.

Runs use ONNX Runtime for the model, but two libraries import torch just because it is installed: spaCy (thinc
probes for it at import) and BERTopic (its representation models import transformers). Neither uses it here, and
the import costs a cold process about 2-3 s and 270 MB of memory (measured: spaCy + BERTopic import and spaCy load,
447 MB without torch vs 722 MB with it). The console entry point (`commentminer.cli.main`) therefore blocks
`import torch` and lifts the block when a command's config selects a backend that needs torch
(`registry.TORCH_BACKENDS`); $COMMENTMINER_ALLOW_TORCH=1 turns the block off. Library callers (notebooks) are never
affected: only the console entry point calls `keep_torch_out`.
"""

from __future__ import annotations

import os
import sys
from importlib.abc import MetaPathFinder

ALLOW_ENV = "COMMENTMINER_ALLOW_TORCH"


class _NoTorch(MetaPathFinder):
    """Makes `import torch` fail as if torch were not installed (libraries that probe for it carry on)."""

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001 - importlib's signature
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(
                f"No module named {name!r}: commentminer keeps torch out of this run because no configured backend "
                f"needs it; set {ALLOW_ENV}=1 to allow it", name=name)
        return None


def keep_torch_out(needs_torch: bool) -> bool:
    """Block torch imports in this process unless `needs_torch`, torch is already imported, or the env allows it.

    Returns True when the block is in place (idempotent)."""
    if any(isinstance(finder, _NoTorch) for finder in sys.meta_path):
        return True
    if needs_torch or "torch" in sys.modules or os.environ.get(ALLOW_ENV):
        return False
    sys.meta_path.insert(0, _NoTorch())
    return True


def allow_torch() -> None:
    """Lift the block (tests, or a caller that changes its mind)."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _NoTorch)]
