"""Shared fixtures. Tests that need ../shared/data skip with a clear message when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.store import Store

ROOT = Path(__file__).resolve().parents[1]
SEEDS_DIR = ROOT / "corpus" / "seeds"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA_DIR = ROOT.parent / "shared" / "data"
MODEL_DIR = ROOT / "models" / "all-MiniLM-L6-v2"


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS_DIR


@pytest.fixture
def shared_data() -> Path:
    """../shared/data (labelled benchmark data); skips the test when it is not there."""
    if not SHARED_DATA_DIR.is_dir():
        pytest.skip(f"needs ../shared/data (not found at {SHARED_DATA_DIR}); only present in the dev workspace")
    return SHARED_DATA_DIR


@pytest.fixture
def config():
    """Default config with progress bars off and errors raised, unless a test overrides it."""
    return load_config(overrides=["run.progress=false"])


@pytest.fixture
def store():
    with Store(":memory:") as s:
        yield s


@pytest.fixture
def ctx(store, config) -> StageContext:
    return StageContext.create(store, config, run_id="run_test")
