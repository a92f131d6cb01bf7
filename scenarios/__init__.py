"""The lab: the scenario catalogue (core and fault scenarios, each with what it expects), the faults the
runner injects from outside, the runner and its fleet of service processes (or an attached stack), the tap's trace,
settling, and the verdict (the consistency oracle, the assessment against the scenario's checks, and the
run's transcript against its golden one, kept in ``golden/``). It
produces results and traces, never tables or pages. It may import ``choreography``, ``orchestration`` and
``shared``; never ``sagalab``."""
