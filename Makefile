# sketchdraw: `make run CATEGORY=rabbit` trains, `make test` tests. `make help` lists the rest.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# `make run` takes every setting of the experiment's family as a variable: its name in capitals
# (CATEGORY=cat EPOCHS=3 EMA_DECAY=0.999), plus EXPERIMENT, DATA, BATCH, RUNS and SET="k=v ...".
# The names given on the command line reach the CLI in SKETCHDRAW_MAKE_VARIABLES and their values
# in the environment (make exports command-line variables): no value is spliced into a shell line.
command_line_variables := $(strip $(foreach name,$(.VARIABLES),$(if $(filter command line,$(origin $(name))),$(name))))
run: export SKETCHDRAW_MAKE_VARIABLES = $(command_line_variables)
# make itself would expand a value such as $(shell ...) when it exports it: each command-line
# variable becomes its literal text, expanded never (and is exported, as make does for them).
$(foreach name,$(command_line_variables),$(eval override $(name) := $$(value $(name)))$(eval export $(name)))

# other targets' parameters
CATEGORY ?=
INPUT ?=
DIRECTION ?= x2y
SKETCH ?=
CATEGORIES ?=
QUICK ?=
SETTINGS ?=
SEEDS ?=
IMAGES ?=
WORKERS ?=
PER_CATEGORY ?=
DRAWS ?=
RESAMPLES ?=
JUDGE_DATA ?=
JUDGE_FOLDERS ?=
TRUNCATION ?=
RUNS ?= runs
# sample parameters
RUN ?= runs/rabbit
N ?= 1000
PORT ?=
HYBRID ?=
WEIGHT ?=

# Every other target reads its variables from the environment too ("$$RUN" is expanded by the
# shell, which never runs a command found in a value): exported, and passed by name below.
export CATEGORY INPUT DIRECTION SKETCH CATEGORIES QUICK SETTINGS SEEDS IMAGES WORKERS PER_CATEGORY
export DRAWS RESAMPLES TRUNCATION RUNS RUN N WHAT PORT HYBRID WEIGHT JUDGE_DATA JUDGE_FOLDERS
# $(call opt,--flag,NAME): `--flag "$NAME"` when NAME is set and not empty, else nothing
opt = $${$(2):+$(1) "$$$(2)"}

.PHONY: help setup browser run sample evaluate translate draw serve export export-web gallery list bench ablation test test-slow lint

help:
	@echo "make setup                      virtual environment + requirements + editable install"
	@echo "make run CATEGORY=rabbit [EPOCHS=n LIMIT=n BATCH=n MODEL=name NAME=run MIRROR=dir|url]"
	@echo "make run EXPERIMENT=flower      a named preset; any setting in capitals overrides it (EMA_DECAY=0.999)"
	@echo "make run EXPERIMENT=vangogh DATA=folder   a painting experiment on a folder of images"
	@echo "make sample RUN=runs/rabbit N=1000 [TRUNCATION=t]   t: noise kept within t std (0: off)"
	@echo "make sample RUN=runs/doodles3 [CATEGORY=cat | HYBRID=cat,rabbit WEIGHT=0.5]   a conditional run's category, or a blend of two"
	@echo "make evaluate RUN=runs/rabbit [CATEGORIES=a,b,c DRAWS=n TRUNCATION=t RESAMPLES=n]   FID, KID, CS, GD, memorisation with 95% intervals -> metrics.json"
	@echo "make evaluate RUN=runs/vangogh [DRAWS=n JUDGE_DATA=root | JUDGE_FOLDERS=name=dir,...]   a painting run against its held-out paintings (+ SWD)"
	@echo "make run EXPERIMENT=photo2vangogh DOMAIN_X=photos DOMAIN_Y=paintings   a CycleGAN"
	@echo "make translate RUN=runs/photo2vangogh INPUT=photo.jpg [DIRECTION=x2y|y2x]"
	@echo "make run EXPERIMENT=faces_sketch2photo DATA=root   sketch to image (root/sketch, root/photo)"
	@echo "make draw RUN=runs/faces_sketch2photo SKETCH=my_sketch.png"
	@echo "make serve RUN=runs/rabbit [PORT=8765]   the drawing page: draw, and the run suggests how to finish it"
	@echo "make export RUN=runs/rabbit      the generator as a TensorFlow SavedModel (<run>/export/generator)"
	@echo "make export-web RUN=runs/rabbit  the drawing page as static files, TensorFlow.js in the browser (<run>/export/web)"
	@echo "make gallery [RUNS=runs]        rebuild runs/index.html and every run's index.html"
	@echo "make list WHAT=presets|categories|runs [RUNS=runs MIRROR=dir]   categories: * = in the mirror folder"
	@echo "make bench [QUICK=1]            benchmarks -> bench/results/<date>-<host>.md"
	@echo "make ablation [CATEGORY=rabbit SETTINGS=a,b SEEDS=1,2 IMAGES=n]   small-data settings x seeds"
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
	$(BIN)/python -m sketchdraw run --from-make

sample: $(STAMP)
	$(BIN)/python -m sketchdraw sample --run "$$RUN" -n "$$N" $(call opt,--truncation,TRUNCATION) \
		$(call opt,--category,CATEGORY) $(call opt,--hybrid,HYBRID) $(call opt,--weight,WEIGHT)

translate: $(STAMP)
	$(BIN)/python -m sketchdraw translate --run "$$RUN" --input "$$INPUT" --direction "$$DIRECTION"

evaluate: $(STAMP)
	$(BIN)/python -m sketchdraw evaluate --run "$$RUN" $(call opt,--categories,CATEGORIES) \
		$(call opt,--drawings-per-category,PER_CATEGORY) $(call opt,--draws,DRAWS) \
		$(call opt,--truncation,TRUNCATION) $(call opt,--resamples,RESAMPLES) \
		$(call opt,--judge-data,JUDGE_DATA) $(call opt,--judge-folders,JUDGE_FOLDERS)

draw: $(STAMP)
	$(BIN)/python -m sketchdraw draw --run "$$RUN" --sketch $$SKETCH

serve: $(STAMP)
	$(BIN)/python -m sketchdraw serve --run "$$RUN" $(call opt,--port,PORT)

export: $(STAMP)
	$(BIN)/python -m sketchdraw export --run "$$RUN"

# The drawing page for a static web host needs two tools from outside this environment, fetched
# into .tfjs/ on first use: the TF.js converter, in its own virtual environment because it pins
# an older TensorFlow (and ydf below 0.13: newer ones need a protobuf that TensorFlow 2.19 refuses),
# and TensorFlow.js's browser bundle from npm.
TFJS := .tfjs
TFJS_CONVERTER := $(TFJS)/venv/bin/tensorflowjs_converter
TFJS_SCRIPT := $(TFJS)/node_modules/@tensorflow/tfjs/dist/tf.min.js
$(TFJS_CONVERTER):
	$(PYTHON) -m venv $(TFJS)/venv
	$(TFJS)/venv/bin/python -m pip install --quiet tensorflowjs==4.22.0 "ydf<0.13"
$(TFJS_SCRIPT):
	npm install --silent --no-audit --no-fund --prefix $(TFJS) @tensorflow/tfjs@4.22.0

export-web: $(STAMP) $(TFJS_CONVERTER) $(TFJS_SCRIPT)
	$(BIN)/python -m sketchdraw export --run "$$RUN" --web --converter $(TFJS_CONVERTER) --tfjs-script $(TFJS_SCRIPT)

gallery: $(STAMP)
	$(BIN)/python -m sketchdraw gallery --runs-dir "$$RUNS"

list: $(STAMP)
	$(BIN)/python -m sketchdraw list "$$WHAT" --runs-dir "$$RUNS" $(call opt,--mirror,MIRROR)

bench: $(STAMP)
	$(BIN)/python bench/run.py $${QUICK:+--quick}

# the small-data study's ablation: settings x seeds on the first 450 drawings, same images seen
ablation: $(STAMP)
	$(BIN)/python studies/small_data.py $(call opt,--category,CATEGORY) \
		$(call opt,--settings,SETTINGS) $(call opt,--seeds,SEEDS) \
		$(call opt,--images,IMAGES) $(call opt,--workers,WORKERS)

# Two test processes, a test file each at a time (its module fixtures are built once); why and
# what it saves: docs/testing.md.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check sketchdraw tests tools bench studies
