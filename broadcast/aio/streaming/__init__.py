"""``mbms stream``: the asyncio stream service and its RTP ingest sources."""
