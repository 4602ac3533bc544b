"""The protected file carousel (TS 33.246 6.3.3, TS 26.346 FLUTE), sans-IO: transport objects,
the carousel session (TOIs, FDT Instances) and the packet scheduler."""
