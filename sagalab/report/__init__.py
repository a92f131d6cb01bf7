"""The trace report: one self-contained HTML page with both modes of a run side by side (sequence
diagrams, the event and state graphs, charts), drawn as SVG from a run folder. Presentation only: it reads what the
lab wrote (``scenarios.result``, ``scenarios.trace``) and may import ``scenarios``, ``choreography``,
``orchestration`` and ``shared``, never the rest of ``sagalab`` but itself and ``sagalab.exits``."""
