# todo-api: `make run` serves the embedded default; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BETTER_AUTH := tests/interop/betterauth
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run serve test lint format typecheck fuzz bench lock snapshot token clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(BETTER_AUTH)/node_modules/.package-lock.json: $(BETTER_AUTH)/package-lock.json
	cd $(BETTER_AUTH) && npm ci --no-audit --no-fund --loglevel=error

run: install
	$(BIN)/uvicorn api.main:app --host $(HOST) --port $(PORT) --no-access-log

test: install $(BETTER_AUTH)/node_modules/.package-lock.json
	$(BIN)/pytest --cov --cov-report=term $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

snapshot: install
	$(BIN)/python -m api.cli openapi > openapi_snapshot.json

token: install
	@$(BIN)/python -m api.cli token $(USER_ID)

lock: install
	(echo "# Exact versions for a reproducible install; refresh with: make lock"; \
	 $(BIN)/pip freeze --exclude-editable | sort -f) > constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .coverage $(BETTER_AUTH)/node_modules
