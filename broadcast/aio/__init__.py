"""Layer 4, asyncio shells: sockets, timers and ``to_thread`` around the sans-IO engines."""
