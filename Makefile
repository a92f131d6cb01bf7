# The two commands at the top of the README. Each sets up what it needs first.
VENV   ?= .venv
PYTHON ?= python3

.PHONY: compare test test-slow setup chromium management podman containers clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed

## make compare: the out-of-stock saga in both modes, side by side
compare: setup
	$(VENV)/bin/sagalab compare out-of-stock

## the browser test renders the HTML report in Debian's chromium: install it when missing and we are root
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make: installing chromium for the browser test"; \
	    apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null; \
	  else \
	    echo "make: the browser test needs Chromium: sudo apt-get install -y chromium"; \
	  fi; \
	fi

## the workshop and clean tests talk to RabbitMQ's management API (a vhost and user per participant): turn the
## plugin on when the local broker has it off, as a fresh Debian broker does (not for a broker AMQP_URL names)
management:
	@if [ -z "$${AMQP_URL:-}" ] && ! curl -fs -o /dev/null -u guest:guest http://127.0.0.1:15672/api/overview; then \
	  if command -v rabbitmq-plugins >/dev/null 2>&1 && rabbitmq-plugins enable rabbitmq_management >/dev/null 2>&1; then \
	    echo "make: enabled RabbitMQ's management plugin for the workshop tests"; \
	    for _ in $$(seq 1 60); do curl -fs -o /dev/null -u guest:guest http://127.0.0.1:15672/api/overview && break; sleep 1; done; \
	  else \
	    echo "make: the workshop tests need RabbitMQ's management API: rabbitmq-plugins enable rabbitmq_management"; \
	  fi; \
	fi

## make test: the whole test suite (unit, broker, browser); bounded chaos, no slow runs. Two workers share it;
## the tests that stop, pause or reconfigure the broker run alone afterwards, since they would disturb the others.
TESTS_DEFAULT = not slow and not container and not cluster
test: setup chromium management
	@status=0; \
	$(VENV)/bin/pytest -n 2 -m "$(TESTS_DEFAULT) and not broker_control" || status=1; \
	$(VENV)/bin/pytest -m "$(TESTS_DEFAULT) and broker_control" || status=1; \
	exit $$status

## make test-slow: only the long chaos and load runs (1000 orders per mode)
test-slow: setup chromium management
	$(VENV)/bin/pytest -m slow

## podman and podman-compose (scripts/podman-setup.sh), as root, unless podman or Docker Compose is already there
podman:
	@if command -v podman-compose >/dev/null || docker compose version >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make: installing podman for the container check"; scripts/podman-setup.sh; \
	else \
	  echo "make: the container check needs podman (as root: scripts/podman-setup.sh) or Docker Compose"; \
	fi

## make containers: build both images, run the compose stack (broker, both modes, scenario runner, a bounded part
## of the suite in the tests container), then testcontainers' RabbitMQ through podman's API; see docs/containers.md
containers: setup podman
	scripts/containers.sh
	RABBITMQ_IMAGE=$${RABBITMQ_IMAGE:-$$(command -v podman >/dev/null && scripts/local-images.sh | sed -n 's/^RABBITMQ_IMAGE=//p')} \
	  $(VENV)/bin/pytest -m container tests/integration/test_testcontainers.py

clean:
	rm -rf $(VENV) .sagalab .pytest_cache
