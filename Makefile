# airloop: `make demo` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP = $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt $(TORCH_SOURCE)
export AIRFLOW__CORE__LOAD_EXAMPLES := False

.PHONY: install dev demo test test-engines test-unit test-integration lint bench backtest zoo constraints clean

# uv installs the pinned set in seconds where pip takes minutes; pip is the fallback.
# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set (as on this machine),
# every process would otherwise compile Airflow, MLflow and scikit-learn from source again,
# ~4.6 s of a ~10 s import (measured: `import sklearn.ensemble, mlflow, airflow.sdk, pandas,
# scipy.stats` 9.9 s without .pyc files, 5.3 s with them).
# torch comes as its CPU build (constraints.txt: torch==2.13.0+cpu; the index's plain torch is the
# multi-gigabyte CUDA build): from the wheelhouse PIP_FIND_LINKS names where there is one (as on
# CI), else from PyTorch's CPU index.
TORCH_SOURCE ?= $(if $(PIP_FIND_LINKS),--find-links $(PIP_FIND_LINKS),--extra-index-url https://download.pytorch.org/whl/cpu)
UV := $(BIN)/uv pip install --python $(BIN)/python -q -c constraints.txt --compile-bytecode $(TORCH_SOURCE)
COMPILE := $(BIN)/python -m compileall -q -j 0 src $(VENV)/lib >/dev/null

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt uv

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(UV) -e . || ($(PIP) -e . && $(COMPILE))
	$(BIN)/python -m compileall -q src >/dev/null
	@touch $@

$(VENV)/.dev: $(VENV)/.installed
	$(UV) -e ".[dev]" || ($(PIP) -e ".[dev]" && $(COMPILE))
	$(BIN)/python -m compileall -q src >/dev/null
	@touch $@

install: $(VENV)/.installed
dev: $(VENV)/.dev

demo: install
	$(BIN)/python examples/flights/demo.py

# Three pytest workers on two cores, one per cost lane (tests/conftest.py): the suite waits on
# Airflow's scheduler much of the time (1.3 cores busy on average with two workers). Measured on a
# fresh clone (install, lint, pytest): 11:52 with two workers, 10:47 with three, all passing
# (`.ci/run` with mypy beside pytest: 10:16); the
# lanes keep the two flights demos in turn and the live stacks in turn (`PYTEST_WORKERS=0` runs in
# one process). mypy runs beside pytest; its report is shown when it fails.
PYTEST_WORKERS ?= 3
XDIST := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist worksteal)

# `make test` leaves out the slow engines' lane (tests/conftest.py ENGINES: the flights demos, the zoo,
# the live stacks, Celery workers, real Spark); `make test-engines` runs it; CI runs both. Measured on
# a fresh clone: every test in one run 1127 s (pytest 1038 s); split, `make test` 13.5 min (946 tests
# in 607 s) and `make test-engines` 27 tests in 527 s (CI in all 1221 s).
test: dev
	$(BIN)/ruff check src tests examples bench
	$(BIN)/ruff format --check src tests examples bench
	@$(BIN)/mypy src/airloop > $(VENV)/mypy.log 2>&1 & mypy=$$!; \
	$(BIN)/python -m pytest $(XDIST) -m "not engines" --durations=15 tests; status=$$?; \
	if ! wait $$mypy; then cat $(VENV)/mypy.log; echo "mypy failed"; exit 1; fi; exit $$status

test-engines: dev
	$(BIN)/python -m pytest $(XDIST) -m engines --durations=15 tests

test-unit: dev
	$(BIN)/python -m pytest tests/unit

# everything that runs real Airflow, MLflow, servers or services: integration, e2e, examples, services
test-integration: dev
	$(BIN)/python -m pytest $(XDIST) -m "integration or services" tests

lint: dev
	$(BIN)/ruff check src tests examples bench
	$(BIN)/ruff format --check src tests examples bench
	$(BIN)/mypy src/airloop

# `airloop init` + `airloop run` on every zoo data set, against a scikit-learn baseline (~10 min)
# the zoo with `airloop init`'s candidates, then by model family (the extras come with `make dev`)
zoo: dev
	$(BIN)/python bench/zoo/run.py
	$(BIN)/python bench/zoo/families.py --families xgboost,lightgbm,xgboost-native,lightgbm-native,torch,keras

# `airloop backtest` on flights, txhousing, hotel_rates and commodity_prices: static vs scheduled vs the
# loop, and the built-in grid of 36 policies chosen on the first half (~75 min on 2 busy cores;
# `python bench/backtest/run.py --only flights --policies none` takes minutes)
backtest: install
	$(BIN)/python bench/backtest/run.py --set monitoring.train_on_new_data=when_requested

bench: dev
	@command -v wrk >/dev/null || (apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y wrk)) \
	  || { echo "bench needs wrk (apt-get install wrk)"; exit 1; }
	$(BIN)/python bench/runner/run.py
	$(BIN)/python bench/stack/run.py
	$(BIN)/python bench/contract/flights_months.py
	$(BIN)/python bench/split/stratified.py
	$(BIN)/python bench/reliability/run.py
	$(BIN)/python bench/run.py
	$(BIN)/python bench/serve/run.py
	$(BIN)/python bench/drift/run.py
	$(BIN)/python bench/monitor_scale/run.py
	BENCH_SCALE_ROWS=2500000 BENCH_SCALE_NAME=monitor_scale_2500k $(BIN)/python bench/monitor_scale/run.py
	$(BIN)/python bench/score/run.py  # 5M and 20M rows, pandas and Spark local[1]/local[2]: about 2 h on a quiet 2-core machine
	$(BIN)/python bench/hpo_scale/run.py  # Celery workers: needs PostgreSQL and Redis (AIRLOOP_PG_HOST/PORT/USER)
	$(BIN)/python bench/capacity.py  # docs/capacity.md from the results above
	$(BIN)/python bench/backtest/run.py --set monitoring.train_on_new_data=when_requested

constraints: install
	@(echo "# Versions checked together on Python 3.11 (Airflow's constraint files cannot be fetched here)."; \
	  echo "# Regenerate: make constraints"; \
	  $(BIN)/python -m pip freeze --all | grep -viE "^(-e|airloop|# Editable|pip==|setuptools==)"; \
	  echo "# extras: torch as its CPU build"; echo "torch==2.13.0+cpu") > constraints.txt

clean:
	rm -rf $(VENV) .airloop .zoo
