"""Orchestration mode: a States Language orchestrator (``asl/``, a pure interpreter stepped from
outside) commands the participants, awaits their replies, retries, catches failures and commands the
compensations, keeping each execution's history in its own store (Express holds each order's ack until its
execution finished, ``express_acks.py``); ``wiring.py`` declares the mode (its ``ModeWiring``) and
``processes.py`` its processes and queues, light enough for a participant's process, which never loads the
interpreter; plus the command adapters of the participants and the runnable public samples. It may import
``shared`` only (never ``choreography``, ``scenarios`` or ``sagalab``)."""
