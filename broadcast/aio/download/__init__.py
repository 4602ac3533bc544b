"""``mbms carousel``: the asyncio carousel service and its watched input directory."""
