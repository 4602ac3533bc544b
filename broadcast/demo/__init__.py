"""``mbms demo``: the BM-SC, a protected stream with real media, a protected carousel and N
reference UEs in one process on 127.0.0.0/8 — every procedure end to end, with a report."""
