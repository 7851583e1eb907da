# sketchdraw: `make run CATEGORY=rabbit` trains, `make test` tests. `make help` lists the rest.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# run parameters (empty: the preset's value)
EXPERIMENT ?= rabbit
CATEGORY ?=
EPOCHS ?=
LIMIT ?=
BATCH ?=
MODEL ?=
NAME ?=
MIRROR ?=
RUNS ?= runs
SET ?=
# sample parameters
RUN ?= runs/rabbit
N ?= 1000

opt = $(if $(strip $(2)),$(1) "$(strip $(2))")

.PHONY: help setup browser run sample gallery test test-slow lint

help:
	@echo "make setup                      virtual environment + requirements + editable install"
	@echo "make run CATEGORY=rabbit [EPOCHS=n LIMIT=n BATCH=n MODEL=name NAME=run MIRROR=dir|url]"
	@echo "make run EXPERIMENT=flower      a named preset; parameters given override it"
	@echo "make sample RUN=runs/rabbit N=1000"
	@echo "make gallery [RUNS=runs]        rebuild runs/index.html and every run's index.html"
	@echo "make test | make test-slow | make lint"

setup: $(STAMP) browser

# Debian's chromium for the gallery's browser tests; without it those tests skip with a reason.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "note: chromium is not installed; the browser tests will be skipped"

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m sketchdraw run --experiment "$(EXPERIMENT)" --runs-dir "$(RUNS)" \
		$(call opt,--category,$(CATEGORY)) $(call opt,--epochs,$(EPOCHS)) \
		$(call opt,--limit,$(LIMIT)) $(call opt,--batch,$(BATCH)) $(call opt,--model,$(MODEL)) \
		$(call opt,--name,$(NAME)) $(call opt,--mirror,$(MIRROR)) \
		$(foreach item,$(SET),--set "$(item)")

sample: $(STAMP)
	$(BIN)/python -m sketchdraw sample --run "$(RUN)" -n "$(N)"

gallery: $(STAMP)
	$(BIN)/python -m sketchdraw gallery --runs-dir "$(RUNS)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check sketchdraw tests tools
