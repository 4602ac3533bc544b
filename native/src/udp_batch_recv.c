/* Batched UDP receive with recvmmsg (declarations and limits in udp_batch_recv.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "udp_batch_recv.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

#define UR_MAX_EINTR 64             /* EINTRs in a row before ur_recv gives up */

void ur_free(ur_state *st) {
    free(st->msgs); free(st->iov); free(st->names); free(st->buf);
    st->msgs = NULL; st->iov = NULL; st->names = NULL; st->buf = NULL;
}

int ur_alloc(ur_state *st, size_t count, size_t size) {
    st->count = count;
    st->size = size;
    st->msgs = (struct mmsghdr *)calloc(count, sizeof(struct mmsghdr));
    st->iov = (struct iovec *)calloc(count, sizeof(struct iovec));
    st->names = (struct sockaddr_storage *)calloc(count, sizeof(struct sockaddr_storage));
    st->buf = (unsigned char *)malloc(count * size);
    if (!st->msgs || !st->iov || !st->names || !st->buf) { ur_free(st); return -1; }
    return 0;
}

int ur_recv(ur_state *st, int fd, size_t n) {
    size_t i;
    int r, tries = 0;
    for (i = 0; i < n; i++) {
        struct msghdr *h = &st->msgs[i].msg_hdr;
        st->iov[i].iov_base = st->buf + i * st->size;
        st->iov[i].iov_len = st->size;
        h->msg_name = &st->names[i];
        h->msg_namelen = sizeof(struct sockaddr_storage);
        h->msg_iov = &st->iov[i];
        h->msg_iovlen = 1;
        h->msg_control = NULL;
        h->msg_controllen = 0;
        h->msg_flags = 0;
        st->msgs[i].msg_len = 0;
    }
    do {
        r = recvmmsg(fd, st->msgs, (unsigned int)n, MSG_DONTWAIT, NULL);
    } while (r < 0 && errno == EINTR && ++tries < UR_MAX_EINTR);
    return r < 0 ? -errno : r;
}

int ur_addr(const ur_state *st, size_t i, char *host, size_t hostlen,
            unsigned int *port, unsigned int *flowinfo, unsigned int *scope) {
    const struct sockaddr_storage *ss = &st->names[i];
    if (st->msgs[i].msg_hdr.msg_namelen == 0) return 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        if (!inet_ntop(AF_INET, &a->sin_addr, host, (socklen_t)hostlen)) return 0;
        *port = ntohs(a->sin_port);
        return AF_INET;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        if (!inet_ntop(AF_INET6, &a->sin6_addr, host, (socklen_t)hostlen)) return 0;
        *port = ntohs(a->sin6_port);
        *flowinfo = ntohl(a->sin6_flowinfo);
        *scope = a->sin6_scope_id;
        return AF_INET6;
    }
    return 0;
}
