"""mbms-broadcast: the key-delivery engine of a 3GPP MBMS BM-SC (TS 33.246)."""

__version__ = "0.1.0"
