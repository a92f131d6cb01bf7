# A stand-in for rabbitmq:*-management, from Debian bookworm's rabbitmq-server (3.10) with the management plugin.
# It honours RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS and logs to the console as the public image does, and
# runs the server as user rabbitmq, as PID 1's child with RabbitMQ's own SIGTERM handler (Debian's wrapper in
# /usr/sbin runs it under `su`, which does not pass `docker stop`'s SIGTERM on). Built by scripts/local-images.sh.
ARG DEBIAN_IMAGE=localhost/sagalab-debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server \
    && rm -rf /var/lib/apt/lists/* \
    && rabbitmq-plugins enable --offline rabbitmq_management \
    && printf '%s\n' 'loopback_users = none' 'listeners.tcp.default = 5672' 'management.tcp.port = 15672' \
        'log.console = true' 'log.console.level = info' 'log.file = false' > /etc/rabbitmq/rabbitmq.conf \
    && : > /etc/rabbitmq/rabbitmq-env.conf \
    && install -d -o rabbitmq -g rabbitmq /etc/rabbitmq/conf.d
COPY rabbitmq-entrypoint.sh /usr/local/bin/rabbitmq-entrypoint.sh
ENV HOME=/var/lib/rabbitmq PATH=/usr/lib/rabbitmq/bin:$PATH
USER rabbitmq
WORKDIR /var/lib/rabbitmq
EXPOSE 5672 15672
ENTRYPOINT ["/usr/local/bin/rabbitmq-entrypoint.sh"]
CMD ["rabbitmq-server"]
