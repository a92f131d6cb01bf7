"""``sagalab bench``: sagas per second and latency per mode, measured against a raw relay chain in the
same run, with its plan, driver, statistics and terminal view. It drives the lab's fleet and runner
(``scenarios``) and the modes' own code; it may import ``scenarios``, ``choreography``, ``orchestration``, ``shared``
and, of ``sagalab``, only itself, ``sagalab.exits`` and ``sagalab.run_folders``."""
