/* Batched UDP send of broadcast._native.udp_send: UDP GSO (UDP_SEGMENT, Linux >= 4.18) for runs
 * of equal-size datagrams to one destination, sendmmsg for everything else, with the error
 * handling described in native/udp_send.pyx (GSO fallback, EAGAIN stops the batch, transient
 * errors counted). No Python: us_send runs with the GIL released.
 *
 * Compiled as an extra source of the extension (pyproject.toml ext-modules); the declarations
 * are hidden (not exported from the extension's shared object).
 */
#ifndef MBMS_NATIVE_UDP_BATCH_SEND_H
#define MBMS_NATIVE_UDP_BATCH_SEND_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1                /* struct mmsghdr, sendmmsg */
#endif
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define US_MAX_SEGMENTS 64          /* UDP_MAX_SEGMENTS of Linux 4.18 (128 from 6.x) */
#define US_MAX_GSO_PAYLOAD 65507    /* 0xFFFF - 20 (IPv4 header) - 8 (UDP header) */
#define US_MAX_VLEN 1024            /* UIO_MAXIOV: sendmmsg takes at most this many */
#define US_SLICE 4096               /* datagrams collected per GIL release */
#define US_CTRL_SPACE CMSG_SPACE(sizeof(uint16_t))

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(hidden)
#endif

/* One datagram: its bytes and its destination (a packed sockaddr). */
typedef struct {
    const char *buf;
    size_t len;
    const struct sockaddr *name;
    socklen_t namelen;
} us_item;

/* One sender: its GSO state, counters and scratch arrays (allocated by the caller). */
typedef struct {
    int gso;                  /* 1: GSO messages are built */
    size_t gso_max_seg;       /* largest segment size GSO is tried with */
    int gso_strikes;          /* EINVAL failures of GSO messages */
    unsigned long long syscalls;
    unsigned long long gso_messages;
    unsigned long long gso_fallbacks;
    struct mmsghdr *msgs;     /* US_MAX_VLEN */
    struct iovec *iov;        /* US_SLICE */
    unsigned char *ctrl;      /* US_MAX_VLEN * US_CTRL_SPACE */
    size_t *first;            /* US_MAX_VLEN: first item of each message */
    size_t *count;            /* US_MAX_VLEN: items in each message */
} us_state;

/* What one us_send call did. */
typedef struct {
    size_t sent;
    size_t sent_bytes;
    size_t failed;
    size_t stopped_at;        /* items [0, stopped_at) were attempted; == n if all */
    int last_errno;
    int stopped;              /* 1: stopped early (see last_errno) */
} us_result;

/* Send it[0..n) (n <= US_SLICE) on fd with sendmmsg flags; res accumulates (stopped_at is
 * relative to it). */
void us_send(us_state *st, int fd, int flags, const us_item *it, size_t n, us_result *res);

/* 1 when the kernel knows UDP_SEGMENT (getsockopt answers on fd), else 0. */
int us_probe_gso(int fd);

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#endif /* MBMS_NATIVE_UDP_BATCH_SEND_H */
