/* Batched UDP send: GSO runs and sendmmsg (declarations and limits in udp_batch_send.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "udp_batch_send.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define US_MAX_EINTR 64             /* EINTRs in a row before the batch stops */
#define US_MAX_NOBUFS 8             /* ENOBUFS/ENOMEM in a row before the batch stops */
#define US_MAX_GSO_STRIKES 3        /* EINVAL failures of GSO messages before GSO is off */

static int us_same_dest(const us_item *a, const us_item *b) {
    return a->name == b->name
        || (a->namelen == b->namelen && memcmp(a->name, b->name, a->namelen) == 0);
}

/* Items in a GSO run starting at it[0] (1 when no run), and their total bytes. */
static size_t us_run(const us_state *st, const us_item *it, size_t avail, size_t *total) {
    size_t seg = it[0].len, c = 1, sum = seg, l;
    *total = seg;
    if (!st->gso || seg == 0 || seg > st->gso_max_seg) return 1;
    while (c < US_MAX_SEGMENTS && c < avail) {
        l = it[c].len;
        if (l == 0 || l > seg || !us_same_dest(&it[0], &it[c])) break;
        if (sum + l > US_MAX_GSO_PAYLOAD) break;
        sum += l;
        c++;
        if (l < seg) break;        /* a shorter datagram closes the run */
    }
    *total = sum;
    return c;
}

static int us_fatal(int err) {
    return err == EBADF || err == ENOTSOCK || err == EFAULT || err == EDESTADDRREQ
        || err == EAGAIN || err == EWOULDBLOCK;
}

static int us_gso_unsupported(int err) {
    return err == EIO || err == ENOPROTOOPT || err == EOPNOTSUPP
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
        || err == ENOTSUP
#endif
        ;
}

/* Errors a GSO message may get where its datagrams sent one by one would not. */
static int us_gso_suspect(int err) {
    return us_gso_unsupported(err) || err == EINVAL || err == EMSGSIZE;
}

void us_send(us_state *st, int fd, int flags, const us_item *it, size_t n,
             us_result *res) {
    size_t i = 0, plain_until = 0, nobufs = 0, eintr = 0;
    int after_short = 0;
    while (i < n) {
        size_t m = 0, j = i, k, total;
        int r, err;
        /* build up to US_MAX_VLEN messages from item i on */
        while (j < n && m < US_MAX_VLEN) {
            struct msghdr *h = &st->msgs[m].msg_hdr;
            size_t c = 1;
            total = it[j].len;
            if (j >= plain_until) c = us_run(st, &it[j], n - j, &total);
            for (k = 0; k < c; k++) {
                st->iov[j + k].iov_base = (void *)it[j + k].buf;
                st->iov[j + k].iov_len = it[j + k].len;
            }
            memset(h, 0, sizeof(*h));
            h->msg_name = (void *)it[j].name;
            h->msg_namelen = it[j].namelen;
            h->msg_iov = &st->iov[j];
            h->msg_iovlen = c;
            if (c > 1) {
                unsigned char *buf = st->ctrl + m * US_CTRL_SPACE;
                struct cmsghdr *cm;
                uint16_t seg = (uint16_t)it[j].len;
                memset(buf, 0, US_CTRL_SPACE);
                h->msg_control = buf;
                h->msg_controllen = US_CTRL_SPACE;
                cm = CMSG_FIRSTHDR(h);
                cm->cmsg_level = SOL_UDP;
                cm->cmsg_type = UDP_SEGMENT;
                cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
                memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
            }
            st->first[m] = j;
            st->count[m] = c;
            m++;
            j += c;
        }
        /* After a short count the next call does not block: if the short count came
           from SO_SNDTIMEO expiring, one stall costs one timeout, not two. */
        r = sendmmsg(fd, st->msgs, (unsigned int)m,
                     after_short ? (flags | MSG_DONTWAIT) : flags);
        after_short = 0;
        err = r < 0 ? errno : 0;
        st->syscalls++;
        if (r > 0) {
            size_t e;
            eintr = 0;
            nobufs = 0;
            for (e = 0; e < (size_t)r; e++) {
                size_t f = st->first[e], c = st->count[e];
                if (c > 1) st->gso_messages++;
                for (k = f; k < f + c; k++) res->sent_bytes += it[k].len;
                res->sent += c;
            }
            i = st->first[r - 1] + st->count[r - 1];
            after_short = (size_t)r < m;
            continue;              /* a short count: the next call reports the error */
        }
        if (r == 0) { err = EAGAIN; }    /* should not happen; never spin on it */
        if (err == EINTR && ++eintr < US_MAX_EINTR) continue;
        eintr = 0;
        res->last_errno = err;
        {
            size_t c = st->count[0];
            if (c > 1 && us_gso_suspect(err)) {
                /* GSO message failed in a way GSO may cause: resend one by one */
                st->gso_fallbacks++;
                if (us_gso_unsupported(err)) {
                    st->gso = 0;
                } else if (err == EINVAL) {
                    if (it[i].len > 1 && it[i].len - 1 < st->gso_max_seg)
                        st->gso_max_seg = it[i].len - 1;
                    if (++st->gso_strikes >= US_MAX_GSO_STRIKES) st->gso = 0;
                }
                plain_until = i + c;
                continue;
            }
            if (us_fatal(err) || err == EINTR) {
                res->stopped = 1;
                res->stopped_at = i;
                return;
            }
            res->failed += c;
            i += c;
            if (err == ENOBUFS || err == ENOMEM) {
                if (++nobufs >= US_MAX_NOBUFS) {
                    res->stopped = 1;
                    res->stopped_at = i;
                    return;
                }
            } else {
                nobufs = 0;
            }
        }
    }
    res->stopped_at = n;
}

int us_probe_gso(int fd) {
    int v = 0;
    socklen_t l = sizeof(v);
    return getsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, &l) == 0;
}
