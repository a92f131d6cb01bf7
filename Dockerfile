# One image for every sagalab process: the services, the orchestrator, the scenario runner, the tests.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY choreography ./choreography
COPY orchestration ./orchestration
COPY shared ./shared
COPY scenarios ./scenarios
COPY tests ./tests
RUN pip install --no-cache-dir -e '.[test]'
ENTRYPOINT ["sagalab"]
CMD ["scenarios"]
