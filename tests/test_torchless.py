"""The CLI keeps torch out of a run's process unless a configured backend needs it."""

import subprocess
import sys

from commentminer import registry
from commentminer.config import load_config

PROBE = """
import sys
from commentminer.torchless import allow_torch, keep_torch_out
assert keep_torch_out(needs_torch=False)
import spacy                      # thinc probes for torch at import and carries on without it
try:
    import torch
except ModuleNotFoundError as exc:
    print("blocked:", exc)
print("torch imported:", "torch" in sys.modules)
allow_torch()
import torch
print("after allow:", "torch" in sys.modules)
"""


def test_block_keeps_spacy_working_and_says_how_to_allow_torch():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "blocked: No module named 'torch'" in result.stdout and "COMMENTMINER_ALLOW_TORCH=1" in result.stdout
    assert "torch imported: False" in result.stdout and "after allow: True" in result.stdout


def test_only_torch_backends_need_torch():
    assert not registry.needs_torch(load_config())
    assert registry.needs_torch(load_config(overrides=["embed.backend=sentence_transformers.v1"]))
