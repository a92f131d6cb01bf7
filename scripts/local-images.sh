#!/usr/bin/env bash
# Local stand-ins for the public base images, built from Debian's packages, for machines that reach no image
# registry (see docs/containers.md). Idempotent: an image already present is kept; --rebuild builds them anew.
#
#   scripts/local-images.sh [--rebuild]      prints the variables that point the Dockerfile and compose file at them
#
# localhost/sagalab-debian:bookworm           debootstrap's minbase with Python 3.11 (the base of the other two)
# localhost/sagalab-python:3.11-slim          stands in for python:3.11-slim
# localhost/sagalab-rabbitmq:3-management     stands in for rabbitmq:3.13.7-management (Debian's 3.10, management on)
set -euo pipefail
cd "$(dirname "$0")"

DEBIAN_IMAGE=localhost/sagalab-debian:bookworm
PYTHON_IMAGE=localhost/sagalab-python:3.11-slim
RABBITMQ_IMAGE=localhost/sagalab-rabbitmq:3-management
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
rebuild=0
[ "${1:-}" = "--rebuild" ] && rebuild=1

have() { [ "$rebuild" = 0 ] && podman image exists "$1"; }
say() { echo "local-images: $*" >&2; }

command -v podman >/dev/null || { say "podman is not installed: run scripts/podman-setup.sh"; exit 1; }

if ! have "$DEBIAN_IMAGE"; then
  command -v debootstrap >/dev/null || { say "debootstrap is not installed: run scripts/podman-setup.sh"; exit 1; }
  rootfs="$(mktemp -d /var/tmp/sagalab-rootfs.XXXXXX)"
  trap 'rm -rf "$rootfs"' EXIT
  say "debootstrap bookworm into $rootfs"
  start=$SECONDS
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" "$MIRROR" >/dev/null
  # The same suites as the public images: updates and security fixes (Chromium is updated only there).
  cat > "$rootfs/etc/apt/sources.list" <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY_MIRROR bookworm-security main
SOURCES
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import --quiet - "$DEBIAN_IMAGE" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  say "built $DEBIAN_IMAGE in $((SECONDS - start)) s"
fi

build() {  # image, Dockerfile, files for its context...
  local image=$1 dockerfile=$2 context start
  shift 2
  have "$image" && return 0
  context="$(mktemp -d)"
  cp "$@" "$context/"
  start=$SECONDS
  podman build --quiet --network host --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" -f "images/$dockerfile" \
    -t "$image" "$context" >/dev/null
  rm -rf "$context"
  say "built $image in $((SECONDS - start)) s"
}
build "$PYTHON_IMAGE" python.Dockerfile "$CA_BUNDLE"
build "$RABBITMQ_IMAGE" rabbitmq.Dockerfile images/rabbitmq-entrypoint.sh

echo "PYTHON_IMAGE=$PYTHON_IMAGE"
echo "RABBITMQ_IMAGE=$RABBITMQ_IMAGE"
