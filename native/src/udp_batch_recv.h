/* Batched UDP receive of broadcast._native.udp_send: one recvmmsg (MSG_DONTWAIT) takes every
 * datagram already queued on a socket, up to a bound, into buffers kept between calls. No
 * Python: ur_recv runs with the GIL released.
 *
 * Compiled as an extra source of the extension (pyproject.toml ext-modules); the declarations
 * are hidden (not exported from the extension's shared object). The per-datagram accessors
 * are inline here.
 */
#ifndef MBMS_NATIVE_UDP_BATCH_RECV_H
#define MBMS_NATIVE_UDP_BATCH_RECV_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1                /* struct mmsghdr, recvmmsg */
#endif
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define UR_MAX_COUNT 1024           /* UIO_MAXIOV, as for sendmmsg */
#define UR_MAX_DATAGRAM 65535       /* largest UDP payload (IPv6 without jumbograms) */

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(hidden)
#endif

/* One receiver: count slots of size bytes and their message headers. */
typedef struct {
    struct mmsghdr *msgs;
    struct iovec *iov;
    struct sockaddr_storage *names;
    unsigned char *buf;             /* count slots of size bytes */
    size_t count;
    size_t size;
} ur_state;

/* Allocate count slots of size bytes: 0, or -1 when out of memory (nothing left allocated). */
int ur_alloc(ur_state *st, size_t count, size_t size);

/* Free the slots (idempotent). */
void ur_free(ur_state *st);

/* Up to n (<= count) datagrams already queued on fd; returns how many (>= 0) or -errno
 * (-EAGAIN: none queued). Never blocks. */
int ur_recv(ur_state *st, int fd, size_t n);

/* The source address of datagram i: family AF_INET / AF_INET6 (host text, port, and for
 * IPv6 flowinfo and scope id), or 0 when the kernel gave none / another family. */
int ur_addr(const ur_state *st, size_t i, char *host, size_t hostlen, unsigned int *port,
            unsigned int *flowinfo, unsigned int *scope);

/* Bytes, length and truncation flag of datagram i of the last ur_recv. */
static inline const char *ur_data(const ur_state *st, size_t i) {
    return (const char *)st->buf + i * st->size;
}
static inline size_t ur_len(const ur_state *st, size_t i) { return st->msgs[i].msg_len; }
static inline int ur_truncated(const ur_state *st, size_t i) {
    return (st->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
}

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#endif /* MBMS_NATIVE_UDP_BATCH_RECV_H */
