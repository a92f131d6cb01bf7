"""``sagalab watch``: the sagas in flight in a namespace, live, in either mode. ``fold.py`` turns each message a
tap sees into per-order state with no broker (what the tests use); ``command.py`` attaches a tap of its own to the
namespace and shows the state as a refreshing table or a JSON stream (``view.py``). It may import ``scenarios``,
``choreography``, ``orchestration`` and ``shared``, and of ``sagalab`` only itself and ``sagalab.exits``."""
