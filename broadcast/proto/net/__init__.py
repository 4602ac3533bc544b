"""SGi-mb encapsulation codecs: IPv4/UDP headers with checksums and GTP-U G-PDUs (TS 29.281)."""
