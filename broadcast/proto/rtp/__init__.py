"""RTP and RTCP (RFC 3550) header codecs and the libpcap reader of the RTP ingest."""
