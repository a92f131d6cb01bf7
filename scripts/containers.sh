#!/usr/bin/env bash
# The container path, built and run for real, with podman-compose or Docker Compose, whichever is installed:
# both image targets (lab, tests), the broker until its health check passes and its management UI answers,
# each service's broker user, the services of each mode profile until each is ready, the scenario runner
# (compare out-of-stock against those services), the tests container (part of the suite against that broker),
# then a stop in which every container must exit 0. Whatever happens, the stack is removed at the end
# (containers, pod, network, volumes); the images are kept, so a second run rebuilds only what changed.
#
#   scripts/containers.sh                  what `make containers` and .ci/run run
#   TESTS=all scripts/containers.sh        the whole suite in the tests container (about 15 minutes)
#
# Variables (all optional):
#   PYTHON_IMAGE, RABBITMQ_IMAGE   base images; default: the public ones if they can be pulled, else the stand-ins
#                                  scripts/local-images.sh builds from Debian's packages
#   RABBITMQ_PORT, RABBITMQ_UI_PORT  host ports of the broker (default 5682, 15682: beside a broker on 5672)
#   PROFILES                       mode profiles to start (default "choreography orchestration")
#   TESTS                          pytest arguments for the tests container (default: a bounded part, below)
#   PROJECT                        the compose project name (default sagalab-check)
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECT="${PROJECT:-sagalab-check}"
PROFILES="${PROFILES:-choreography orchestration}"
NAMESPACE=check
# The bounded part of the suite: every unit test, every core scenario in both modes, the compose stack as
# processes, the CLI; about 3 minutes. TESTS=all runs everything (the default `pytest` run, not the slow tests).
BOUNDED_TESTS="-p no:cacheprovider tests/unit tests/integration/test_scenarios.py tests/integration/test_compose_stack.py tests/integration/test_cli.py"
TESTS="${TESTS:-$BOUNDED_TESTS}"
[ "$TESTS" = all ] && TESTS="-p no:cacheprovider"

say() { echo "containers: $*"; }
fail() { say "FAILED: $*"; exit 1; }
SUMMARY=()
timed() {  # label, command...: runs it, records "label: N s" for the summary
  local label=$1 start=$SECONDS
  shift
  say "$label ..."
  "$@" || fail "$label (exit $?)"
  SUMMARY+=("$label: $((SECONDS - start)) s")
}

# ---- which engine and compose ----
if command -v podman >/dev/null && command -v podman-compose >/dev/null; then
  ENGINE=podman COMPOSE=(podman-compose)
elif command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
  ENGINE=docker COMPOSE=(docker compose)
else
  say "neither podman-compose nor Docker Compose is installed; as root, scripts/podman-setup.sh installs podman"
  exit 2
fi

# ---- base images: the public ones where a registry answers, else the Debian-built stand-ins ----
if [ -z "${PYTHON_IMAGE:-}" ] && [ -z "${RABBITMQ_IMAGE:-}" ]; then
  PYTHON_IMAGE=python:3.11-slim RABBITMQ_IMAGE=rabbitmq:3.13.7-management
  for image in "$PYTHON_IMAGE" "$RABBITMQ_IMAGE"; do
    "$ENGINE" image inspect "$image" >/dev/null 2>&1 || timeout 300 "$ENGINE" pull -q "$image" >/dev/null 2>&1 || {
      [ "$ENGINE" = podman ] || fail "cannot pull $image, and the local stand-ins are built with podman"
      say "$image cannot be pulled: using the stand-ins of scripts/local-images.sh"
      PYTHON_IMAGE='' RABBITMQ_IMAGE=''
      break
    }
  done
  if [ -z "$PYTHON_IMAGE" ]; then
    start=$SECONDS
    images="$(scripts/local-images.sh)" || fail "scripts/local-images.sh"
    eval "$images"  # PYTHON_IMAGE=... RABBITMQ_IMAGE=...
    SUMMARY+=("stand-in base images (scripts/local-images.sh): $((SECONDS - start)) s")
  fi
fi

# ---- a .env of this run's own: random passwords, the broker beside any other on this machine ----
WORK="$(mktemp -d)"
password() { tr -dc 'A-Za-z0-9' </dev/urandom | head -c 20 || true; }
RABBITMQ_PASSWORD="$(password)"
RABBITMQ_UI_PORT="${RABBITMQ_UI_PORT:-15682}"
cat > "$WORK/.env" <<ENV
RABBITMQ_USER=sagalab
RABBITMQ_PASSWORD=$RABBITMQ_PASSWORD
SAGALAB_NAMESPACE=$NAMESPACE
SAGALAB_PASSWORD_ORDERS=$(password)
SAGALAB_PASSWORD_PAYMENT=$(password)
SAGALAB_PASSWORD_INVENTORY=$(password)
SAGALAB_PASSWORD_SHIPPING=$(password)
SAGALAB_PASSWORD_ORCHESTRATOR=$(password)
PYTHON_IMAGE=$PYTHON_IMAGE
RABBITMQ_IMAGE=$RABBITMQ_IMAGE
RABBITMQ_PORT=${RABBITMQ_PORT:-5682}
RABBITMQ_UI_PORT=$RABBITMQ_UI_PORT
ENV
ALL_PROFILES=(--profile choreography --profile orchestration --profile scenario --profile tests --profile users)
compose() { "${COMPOSE[@]}" --env-file "$WORK/.env" -p "$PROJECT" -f docker-compose.yml "$@"; }

cleanup() {
  local status=$?
  compose "${ALL_PROFILES[@]}" down -v --remove-orphans >/dev/null 2>&1 || compose "${ALL_PROFILES[@]}" down -v >/dev/null 2>&1 || true
  if [ "$ENGINE" = podman ]; then  # whatever a failed `down` left
    podman ps -aq --filter "label=io.podman.compose.project=$PROJECT" | xargs -r podman rm -f >/dev/null 2>&1 || true
    podman pod rm -f "pod_$PROJECT" >/dev/null 2>&1 || true
    podman volume ls -q --filter "label=io.podman.compose.project=$PROJECT" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
    podman network rm -f "${PROJECT}_default" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  echo "containers: ---- what ran ($ENGINE, $("${COMPOSE[@]}" version 2>/dev/null | head -1)) ----"
  printf 'containers:   %s\n' "${SUMMARY[@]}"
  [ "$status" = 0 ] && say "all passed; the stack is removed" || say "failed (exit $status); the stack is removed"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
compose "${ALL_PROFILES[@]}" down -v >/dev/null 2>&1 || true  # a stack a killed run left

# ---- versions ----
case "$ENGINE" in
  podman) SUMMARY+=("engine: $(podman --version), $(podman-compose version 2>/dev/null | grep -m1 podman-compose)") ;;
  docker) SUMMARY+=("engine: $(docker --version), $(docker compose version)") ;;
esac
SUMMARY+=("images: PYTHON_IMAGE=$PYTHON_IMAGE RABBITMQ_IMAGE=$RABBITMQ_IMAGE")

# ---- build both targets ----
timed "build lab (sagalab:latest)" compose --profile scenario build scenario
timed "build tests (sagalab-tests:latest)" compose --profile tests build tests

# ---- the broker, until its own health check passes ----
rabbit_healthy() {
  local id
  id="$("$ENGINE" ps -q --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=rabbitmq")"
  [ -n "$id" ] || return 1
  if [ "$ENGINE" = podman ]; then
    podman healthcheck run "$id" >/dev/null 2>&1  # podman runs health checks by systemd timers: none here
  else
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ]
  fi
}
wait_for() {  # what, seconds, command...
  local what=$1 end=$((SECONDS + $2))
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || fail "$what did not happen within the deadline"
    sleep 1  # polling with a deadline
  done
}
broker_up() {
  compose up -d rabbitmq >/dev/null 2>&1 || return 1
  wait_for "the broker's health check" 180 rabbit_healthy
}
timed "compose up rabbitmq, until healthy" broker_up
management_ui() {
  python3 - "$RABBITMQ_UI_PORT" "$RABBITMQ_PASSWORD" <<'PY'
import base64, json, sys, urllib.request
port, password = sys.argv[1], sys.argv[2]
request = urllib.request.Request(f"http://127.0.0.1:{port}/api/overview", headers={
    "Authorization": "Basic " + base64.b64encode(f"sagalab:{password}".encode()).decode()})
overview = json.load(urllib.request.urlopen(request, timeout=10))
print(f"RabbitMQ {overview['rabbitmq_version']}, management UI on http://127.0.0.1:{port}/")
PY
}
ui="$(management_ui)" || fail "the management UI did not answer on 127.0.0.1:$RABBITMQ_UI_PORT"
SUMMARY+=("broker: $ui")

# ---- users, then the mode profiles until every service is ready ----
timed "compose run users" compose --profile users run --rm -T users
profile_args=()
services=()
for profile in $PROFILES; do
  profile_args+=(--profile "$profile")
  while read -r name; do services+=("$name"); done < <(compose --profile "$profile" config --services 2>/dev/null \
    | grep "^$profile-")
done
all_ready() {
  local name service
  for name in "${services[@]}"; do
    service="${name#*-}"
    compose "${profile_args[@]}" exec -T "$name" test -e "/data/$service.ready" >/dev/null 2>&1 || return 1
  done
}
services_up() {
  compose "${profile_args[@]}" up -d >/dev/null 2>&1 || return 1
  wait_for "every service ready (${services[*]})" 180 all_ready
}
timed "compose up $PROFILES (${#services[@]} services), until each is ready" services_up

# ---- the scenario runner against those services ----
read -r -a modes <<<"$PROFILES"
if [ "${#modes[@]}" = 2 ]; then
  scenario=()  # the compose file's command: compare out-of-stock --attach /stack
else
  scenario=(run out-of-stock --mode "${modes[0]}" --attach /stack --namespace "$NAMESPACE")
fi
timed "scenario: ${scenario[*]:-compare out-of-stock}" compose --profile scenario run --rm -T scenario "${scenario[@]}"

# ---- the tests container against this broker ----
# shellcheck disable=SC2086  # TESTS is a list of pytest arguments
timed "tests container: pytest $TESTS" compose --profile tests run --rm -T tests $TESTS

# ---- stop: every container exits 0 on SIGTERM ----
# The services first, then the broker, as Docker Compose orders it: podman-compose 1.6 stops every container at
# once, and a service whose broker goes away while it drains can outlast the 10 s grace and be killed (137).
stop_in_order() {
  compose "${profile_args[@]}" stop "${services[@]}" >/dev/null 2>&1 && compose stop rabbitmq >/dev/null 2>&1
}
timed "compose stop (services, then the broker)" stop_in_order
statuses="$("$ENGINE" ps -a --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}} {{.Status}}')"
echo "$statuses" | sed 's/^/containers:   /'
if echo "$statuses" | grep -v "Exited (0)" | grep -q .; then
  fail "a container did not exit 0 when stopped"
fi
SUMMARY+=("stop: every container exited 0")
