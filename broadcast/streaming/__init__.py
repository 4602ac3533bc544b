"""The protected stream service (TS 33.246 MTK delivery for streaming): SRTP under the current MTK,
MIKEY MTK messages on UDP 2269 at the RTP destination address."""
