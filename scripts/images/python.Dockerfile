# A stand-in for python:3.11-slim, from Debian bookworm's own Python 3.11: a virtualenv first on PATH, so `pip`
# and `python` work as in the public image and PEP 668 does not block installs. Built by scripts/local-images.sh.
ARG DEBIAN_IMAGE=localhost/sagalab-debian:bookworm
FROM ${DEBIAN_IMAGE}
# The host's CA bundle: where package downloads pass an HTTPS proxy, pip trusts it only through this file.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN python3 -m venv /usr/local/py
ENV PATH=/usr/local/py/bin:$PATH PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt LANG=C.UTF-8
CMD ["python3"]
