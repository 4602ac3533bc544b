"""Layer 2, durable state: the only users of ``sqlite3`` — the key store, the BM-SC tables and the
credentials of the GBA simulator. Counters and MTK IDs are committed before they are returned."""
