# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint setup browser lock

LOCK := requirements.lock
OPENCV_NAME := packaging/opencv-python

$(STAMP): $(LOCK) pyproject.toml $(OPENCV_NAME)/pyproject.toml
	# A venv left half-made by an interrupted run has no pip: make it again.
	test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV)
	# Exactly the locked wheels, each checked against its hash; nothing is resolved here.
	$(BIN)/pip install --quiet --no-deps --require-hashes -r $(LOCK)
	# The project itself (editable), and the name opencv-python standing for the headless build.
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e . ./$(OPENCV_NAME)
	$(BIN)/pip check
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/ebrcs db upgrade
	$(BIN)/ebrcs serve

browser:
	test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

test: $(STAMP) browser
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

# After a dependency changes in pyproject.toml: pin it (keeping every other pin) and install.
lock:
	test -x $(BIN)/pip-compile || $(MAKE) setup
	$(BIN)/pip-compile --quiet pyproject.toml
	$(MAKE) setup
