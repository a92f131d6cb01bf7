"""``sagalab bench``: sagas per second and latency per mode, measured against a raw relay chain in the same run."""
