"""Scenario files: a scenario written as TOML (its set-up, orders, faults and what each mode must show), the typed
model that checks it, and the loader that turns it into the ``Scenario`` the runner takes, with errors that name
the file, the line and the field. May import ``scenarios`` (the in-memory scenario, checks, fault grammar),
``orchestration`` (to check a definition a file names) and ``shared``."""
