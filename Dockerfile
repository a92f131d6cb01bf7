# One image for every sagalab process: the services, the orchestrator, the scenario runner.
FROM python:3.11-slim AS lab
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY choreography ./choreography
COPY orchestration ./orchestration
COPY shared ./shared
COPY scenarios ./scenarios
COPY docs ./docs
RUN pip install --no-cache-dir -e '.[test]'
ENTRYPOINT ["sagalab"]
CMD ["scenarios"]

# The test suite: adds Chromium for the report's browser test, and the tests themselves.
FROM lab AS tests
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
    && rm -rf /var/lib/apt/lists/*
COPY tests ./tests
ENTRYPOINT ["pytest"]
CMD []
