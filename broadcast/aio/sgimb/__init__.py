"""SGi-mb output: datagrams to the MBMS gateway (multicast or GTP-U) through the native batched
send engine (UDP GSO, sendmmsg) and its receive counterpart (recvmmsg)."""
