# Two commands do all the set-up:  `make lab` opens the course, `make test` checks it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
NB     ?= notebooks/*.ipynb
NBVAL  := --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=300

.PHONY: lab test lint unit execute student benchmark constraints clean

# Re-install only when the project's requirements change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The tests also need nbgrader (the instructor extra) and Playwright (the browser extra).
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,instructor,browser]'
	touch $(TEST_STAMP)

# jupyter/ holds the course's JupyterLab configuration: quiet defaults, no nbgrader menus.
lab: $(STAMP)
	JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH)) \
		$(BIN)/jupyter lab --notebook-dir=notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint $(TEST_STAMP)
	$(BIN)/python -m pytest $(NBVAL) tests notebooks

unit: $(TEST_STAMP)
	$(BIN)/python -m pytest tests

execute: $(STAMP)
	$(BIN)/python -m tools.execute $(NB)

student: $(STAMP)
	$(BIN)/python -m tools.student --out build/student notebooks/*.ipynb

benchmark: $(STAMP)
	$(BIN)/python -m benchmarks.attention
	$(BIN)/python -m benchmarks.multihead
	$(BIN)/python -m benchmarks.transformer
	$(BIN)/python -m benchmarks.training
	$(BIN)/python -m benchmarks.recurrence
	$(BIN)/python -m benchmarks.efficient_attention
	$(BIN)/python -m benchmarks.kv_cache

constraints: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | sed 's/+cpu//' > constraints.body
	{ sed -n '/^#/p' constraints.txt; cat constraints.body; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm constraints.body

clean:
	rm -rf $(VENV) build .pytest_cache
