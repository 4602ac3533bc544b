"""Layer 2, sans-IO engines: state machines that take ``now`` and ``rand`` as arguments and return
actions, events and records; stores are reached only through the protocols of
:mod:`broadcast.proto`. Same import rule as :mod:`broadcast.proto`: no sockets, asyncio, SQLite,
threads or clock."""
