"""The BM-SC MSK procedures (TS 33.246 6.3.2), sans-IO: key management on the stores, the
request rate limit."""
