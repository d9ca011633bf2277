# The two commands in the README: `make run` (analyse the sample corpus) and `make test`.
# Both set up what they need: .venv with CPU torch and the package, and the local embedding model.
# Set-up steps leave stamp files, so re-running skips what is already done.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.commentminer-installed
MODEL  := models/all-MiniLM-L6-v2/model.safetensors
ONNX   := models/all-MiniLM-L6-v2/onnx/manifest.json
LORA   := src/commentminer/sentiment/data/minilm_lora_sentiment.npz
OUT    ?= reports/seeds

.PHONY: run test setup model clean help

help:
	@echo "make run    - set up, then analyse corpus/seeds into $(OUT)/report.html (+ CSV exports)"
	@echo "make test   - set up, then run the test suite"
	@echo "make setup  - only create .venv, fetch the model and export its ONNX graphs"
	@echo "make clean  - remove reports/ and stores (keeps .venv and models/)"

run: setup
	$(BIN)/commentminer run corpus/seeds --out $(OUT) --themes configs/themes.toml

test: setup
	$(BIN)/python -m pytest

setup: $(STAMP) $(MODEL) $(ONNX)

# CPU torch first, pinned: an unpinned torch pulls gigabytes of CUDA wheels.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

model: $(MODEL) $(ONNX)

$(MODEL): scripts/fetch_model.py | $(STAMP)
	$(BIN)/python scripts/fetch_model.py --dest models/all-MiniLM-L6-v2

# The ONNX graphs that `run` uses (no torch at run time): exported once from the model (and the sentiment
# adapters), hashed into the manifest that commentminer checks before running a graph.
$(ONNX): $(MODEL) $(LORA) scripts/export_onnx.py src/commentminer/encoder/graph.py | $(STAMP)
	$(BIN)/python scripts/export_onnx.py --model models/all-MiniLM-L6-v2 && touch $@

clean:
	rm -rf reports *.duckdb
