"""Layer 2, sans-IO engines: state machines that take the time (``now_mono`` / ``now_unix`` /
``now_ntp``, :mod:`broadcast.time`) and ``rand`` as arguments and return actions, events and
records; stores are reached only through the protocols of :mod:`broadcast.proto`. Same import
rule as :mod:`broadcast.proto`: no sockets, asyncio, SQLite, threads or clock."""
