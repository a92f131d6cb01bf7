#!/usr/bin/env bash
# Podman on a machine with no Docker engine (Debian 12, root, inside a sandbox): install it and the three settings
# it needs there. Idempotent: a machine that has it all is left as it is. See docs/containers.md.
#
#   scripts/podman-setup.sh          install podman, runc, debootstrap and podman-compose; write containers.conf
set -euo pipefail

PACKAGES=(podman runc debootstrap uidmap slirp4netns fuse-overlayfs catatonit)
CONF=/etc/containers/containers.conf
PODMAN_COMPOSE_VERSION="${PODMAN_COMPOSE_VERSION:-1.6.0}"

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "podman-setup: need root and apt-get to install ${missing[*]}" >&2
    exit 1
  fi
  echo "podman-setup: installing ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=120 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq "${missing[@]}" >/dev/null
fi

# The sandbox lacks CAP_SYS_RESOURCE (no raising RLIMIT_NOFILE/NPROC), has no systemd and hybrid cgroups,
# which Debian 12's crun refuses. Without these three settings `podman run` fails.
if ! grep -q 'runtime = "runc"' "$CONF" 2>/dev/null; then
  echo "podman-setup: writing $CONF"
  [ -f "$CONF" ] && cp "$CONF" "$CONF.before-sagalab"
  cat > "$CONF" <<'CONF'
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
CONF
fi

# podman-compose from PyPI, in a virtualenv of its own (Debian's 1.0.3 is older than the compose file needs).
VENV=/opt/podman-compose
if ! "$VENV/bin/podman-compose" version 2>/dev/null | grep -q "$PODMAN_COMPOSE_VERSION"; then
  echo "podman-setup: installing podman-compose $PODMAN_COMPOSE_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "podman-compose==$PODMAN_COMPOSE_VERSION"
fi
ln -sf "$VENV/bin/podman-compose" /usr/local/bin/podman-compose
