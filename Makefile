# Ironwatch: the two commands a newcomer types are `make run` and `make test`.
# Everything else here is a step they depend on; each step is idempotent.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
APT    := DEBIAN_FRONTEND=noninteractive apt-get
PORT   ?= $(or $(IRONWATCH_PORT),8000)
export IRONWATCH_PORT := $(PORT)
# LightGBM threads spin-wait by default; on a small shared machine that costs more than it saves.
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: run test setup venv assets influx database models browser mosquitto stop clean

## run: set everything up, seed the demo fleet, start the simulator and the app
# The app is exec'd so that make is its parent: it stops with make, however make is stopped, and
# takes the simulator with it (`python -m app demo`).
run: setup models
	@echo; echo "Ironwatch is starting at http://127.0.0.1:$(PORT)/"
	@$(BIN)/python -m fleet.seed --print-logins; echo
	@exec $(BIN)/python -m app demo --port $(PORT)

## test: the same set-up, then the whole suite (unit, integration, browser)
# On TEST_WORKERS processes (pytest-xdist): every test has its own SQL file, InfluxDB database,
# ports and var folder, and much of a test's time is spent waiting on servers and browsers, so a
# second worker keeps CI's second core busy. A module's tests stay on one worker (loadscope): a
# module-scoped fixture, such as a simulated day, is then computed once. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: setup models browser mosquitto
	$(BIN)/python -m pytest -q -ra -n $(TEST_WORKERS) --dist loadscope

setup: venv assets influx database

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && $(APT) update -qq && $(APT) install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); } \
	  || { echo "Cannot create a virtualenv: install Python 3.11 with venv (Debian: apt-get install python3-venv)"; exit 1; }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

## assets: front-end libraries from npm, copied into app/static/vendor (served by the app)
assets: app/static/vendor/.built
app/static/vendor/.built: package.json package-lock.json
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && $(APT) update -qq && $(APT) install -y -qq nodejs npm; } \
	  || { echo "npm is missing: install Node.js and npm (Debian: apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent build
	@touch $@

## influx: our own InfluxDB under var/influxdb (installs Debian's influxdb package if needed)
influx: venv
	$(BIN)/python -m telemetry.influxd start

## database: SQL schema (Alembic) and the demo fleet
database: venv
	$(BIN)/python -m fleet.seed

## models: default RUL models for the demo fleet, trained on simulated run-to-failure histories
models: database
	$(BIN)/python -m fleet.rul_training --if-missing

## browser: Debian's Chromium for the end-to-end tests (never `playwright install`)
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && $(APT) update -qq && $(APT) install -y -qq chromium; } \
	  || { echo "Chromium is missing: apt-get install chromium"; exit 1; }
	@# pdftoppm turns the monthly PDF report's first page into the screenshot the portal test keeps
	@command -v pdftoppm >/dev/null || { [ "$$(id -u)" = 0 ] && $(APT) update -qq && $(APT) install -y -qq poppler-utils; } \
	  || echo "pdftoppm is missing: the PDF report's screenshot is skipped (apt-get install poppler-utils)"

## mosquitto: the MQTT broker the MQTT tests start on a free port (they skip without it; not needed by run)
mosquitto:
	@command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || { [ "$$(id -u)" = 0 ] && $(APT) update -qq && $(APT) install -y -qq mosquitto; } \
	  || echo "mosquitto is missing: the MQTT tests will be skipped (apt-get install mosquitto)"

stop:
	-$(BIN)/python -m telemetry.influxd stop

clean: stop
	rm -rf var app/static/vendor node_modules
