"""``mbms demo``: the BM-SC, a protected stream with real media, a protected carousel and the
reference UEs in one process on 127.N.0.0/16 (default N = 100, :mod:`broadcast.demo.plan`) —
every procedure end to end, with a report."""
