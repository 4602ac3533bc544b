"""``mbms serve``: the BM-SC MSK request server (aiohttp) and the MSK push scheduler."""
