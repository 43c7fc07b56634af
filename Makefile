# IdeaStorm: `make run` serves it on 127.0.0.1, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
FLASK := $(BIN)/flask --app app

.PHONY: setup run test translations extract-messages clean

# Everything a fresh clone needs: the virtualenv, the npm packages, the compiled catalogs.
setup: $(VENV)/.installed node_modules/.installed translations

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d ideastorm/translations --statistics

# A secret key made once for this installation (instance/ is never committed).
instance/config.py:
	mkdir -p instance
	$(BIN)/python -c "import secrets; print(f'SECRET_KEY = {secrets.token_hex(32)!r}')" > $@
	chmod 600 $@

# The web server and one outbox worker (search indexing and every after-commit job) together;
# Ctrl-C stops both: the worker finishes its batch, the shell waits for it.
run: setup instance/config.py
	$(FLASK) db upgrade
	$(FLASK) demo seed --if-empty
	$(FLASK) search rebuild --if-empty
	$(FLASK) worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Refresh the message catalogs after changing UI strings (then translate the new entries).
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o ideastorm/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i ideastorm/translations/messages.pot -d ideastorm/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) node_modules .pytest_cache
