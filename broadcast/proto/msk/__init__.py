"""Codecs of the MSK procedures shared by the BM-SC and the UE (TS 33.246 6.3.2): HTTP Digest
(RFC 7616), the MSK request/response XML and the GBA key derivation (TS 33.220 Annex B)."""
