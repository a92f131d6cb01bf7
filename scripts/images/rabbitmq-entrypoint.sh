#!/bin/sh
# The public rabbitmq image's environment, for the Debian-built stand-in: the first user from
# RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS (guest/guest otherwise, allowed from anywhere).
set -eu
conf=/etc/rabbitmq/conf.d/10-default-user.conf
mkdir -p /etc/rabbitmq/conf.d
: > "$conf"
[ -n "${RABBITMQ_DEFAULT_USER:-}" ] && echo "default_user = $RABBITMQ_DEFAULT_USER" >> "$conf"
[ -n "${RABBITMQ_DEFAULT_PASS:-}" ] && echo "default_pass = $RABBITMQ_DEFAULT_PASS" >> "$conf"
exec "$@"
