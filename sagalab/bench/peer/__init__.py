"""``sagalab bench --peer``: the same saga, the same closed loop and the same orders run on a peer
engine in the same bench run, so the comparison is one command.

``asl`` is the ASL-over-AMQP engine of PyPI ``local-workflow-engine`` 1.0.4 (``engine.py``): it needs old
pinned Flask/Quart/pika, so it lives in a venv of its own under ``$SAGALAB_HOME/peer`` (never in
sagalab's), and its workers and client (``scripts/peer``, run by that venv's Python) speak to the broker with
pika. ``temporal`` and ``dbos`` run the durable-execution benches of ``scripts/peer/durable`` (``durable.py``).
The assets came from the lab's shared peer benches (``peer-bench`` and ``peer-durable``); their READMEs'
pitfalls are kept in the docstrings and in docs/peer.md.

It may import ``sagalab.bench``, ``scenarios`` and ``shared``; nothing here imports pika or the peers.
"""
