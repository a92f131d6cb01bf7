"""The user's tool: the ``sagalab`` command line and what each command does (``run``, ``compare``, ``serve`` to
start one production service, ``chaos``, ``bench``, ``history``, ``trace``, ``execute``, ``schema``, ``clean``,
``dead-letters``, ``users``), the exit statuses, and everything that presents a run to a person (tables, the
terminal trace and history views, the HTML report, the bench's figures, the JSON Schema and AsyncAPI export).
It may import ``scenarios``, ``choreography``, ``orchestration`` and ``shared``; nothing in the project imports it
(the lab starts services as ``python -m sagalab.serve``, a command line, not an import)."""
