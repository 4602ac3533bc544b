"""The BM-SC MSK procedures (TS 33.246 clauses 6.3.2.2-6.3.2.3): GBA keys, HTTP Digest MSK requests,
MSK push with MIKEY ACK, solicited pull."""
