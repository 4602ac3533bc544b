"""Layer 1, pure protocol code: codecs and the records they speak of — bytes in, bytes out.

No sockets, no asyncio, no SQLite, no threads, no clock (``tests/contract/test_layers.py``).
Randomness only through an injected ``rand`` (``os.urandom`` / ``secrets`` as its default).
Native hot paths (``broadcast._native``) are reached only through the faces here and the
output engine of :mod:`broadcast.aio.sgimb`."""
