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

# Production: WORKERS processes (default one per core). Each worker has its own pool of
# DB_POOL_SIZE connections; unless set (environment, command line or .env) it is the
# worker's share of CONCURRENCY, the requests in flight at once (see README, "Serving").
# uvicorn, not granian: the bench measured no clear gain (bench/README.md).
WORKERS ?= $(shell nproc)
CONCURRENCY ?= 32
serve: install
	@if [ -z "$${DB_POOL_SIZE:-}" ] && \
		! grep -qsiE '^[[:space:]]*(export[[:space:]]+)?DB_POOL_SIZE[[:space:]]*=' .env; then \
		export DB_POOL_SIZE=$$(( ($(CONCURRENCY) + $(WORKERS) - 1) / $(WORKERS) )); \
	fi; \
	echo "serve: $(WORKERS) workers, DB_POOL_SIZE=$${DB_POOL_SIZE:-(from .env)} each"; \
	exec $(BIN)/uvicorn api.main:app --host $(HOST) --port $(PORT) --workers $(WORKERS) \
		--no-access-log --proxy-headers --timeout-graceful-shutdown 20

# One pytest worker per core (pytest-xdist): most tests wait on databases and servers.
TEST_WORKERS ?= auto
test: install $(BETTER_AUTH)/node_modules/.package-lock.json chromium client-deps
	$(BIN)/pytest -n $(TEST_WORKERS) --cov --cov-report=term $(PYTEST_ARGS)

# The browser tests (tests/test_browser.py) drive Debian's Chromium through Playwright
# (never `playwright install`: it downloads a browser build, which this network refuses).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
.PHONY: chromium
chromium:
	@test -x $(CHROMIUM) || { \
		echo "installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The contract, and the front-end kit's types generated from it (they must never differ).
snapshot: install client-deps
	$(BIN)/python -m api.cli openapi > openapi_snapshot.json
	cd $(CLIENT) && npm run --silent generate

# A new resource in one command: schemas, declaration, migration, snapshot (README,
# "Add a resource"). Each field is quoted, so enum values may be separated by `|`:
#   make resource NAME=bookmarks FIELDS="url:str:500 notes:text status:enum:new|read|done"
.PHONY: resource
resource: install
	@test -n "$(NAME)" -a -n "$(FIELDS)" || { echo 'usage: make resource NAME=plural FIELDS="name:kind ..."'; exit 2; }
	$(BIN)/python -m api.cli scaffold $(NAME) $(foreach field,$(FIELDS),'$(field)')

token: install
	@$(BIN)/python -m api.cli token $(USER_ID)

lock: install
	(echo "# Exact versions for a reproducible install; refresh with: make lock"; \
	 $(BIN)/pip freeze --exclude-editable | sort -f) > constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .coverage $(BETTER_AUTH)/node_modules \
		$(CLIENT)/node_modules

# A long fuzzing campaign: the in-process run (SQLite and PostgreSQL) and the CLI over
# HTTP, with many more examples and a random seed, printed so a failure can be replayed
# with FUZZ_SEED=<seed> make fuzz. `make test` runs the same fuzz tests, seeded and short.
FUZZ_MAX_EXAMPLES ?= 500
fuzz: install
	@seed=$${FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "fuzz seed: $$seed"; \
	FUZZ_SEED=$$seed FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) FUZZ_TIMEOUT=14400 \
		$(BIN)/pytest -p no:cacheprovider -s -x $(PYTEST_ARGS) \
		tests/test_fuzz_contract.py tests/test_fuzz_http.py

# The front-end kit (clients/typescript): TypeScript types generated from
# openapi_snapshot.json and a typed client (openapi-fetch). `make snapshot` regenerates the
# types too (`make client`: the types alone); `make typecheck-client` checks they are current
# and that the client compiles (`make test` does both, and runs the client against a server).
CLIENT := clients/typescript
.PHONY: client client-deps typecheck-client
client-deps: $(CLIENT)/node_modules/.package-lock.json
$(CLIENT)/node_modules/.package-lock.json: $(CLIENT)/package-lock.json
	cd $(CLIENT) && npm ci --no-audit --no-fund --loglevel=error

client: client-deps
	cd $(CLIENT) && npm run --silent generate

typecheck-client: client-deps
	cd $(CLIENT) && npm run --silent check

# API against a minimal Starlette + raw SQL reference under wrk (see bench/README.md);
# BENCH_ARGS=--quick for a two-minute run.
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)
