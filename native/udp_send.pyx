# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Batched UDP send with GSO and sendmmsg, and batched receive with recvmmsg —
``broadcast._native.udp_send``.

One call sends a whole batch of datagrams on a UDP socket (given by its file descriptor; the
caller owns the socket) with as few system calls as possible:

* **UDP generic segmentation offload** (``UDP_SEGMENT`` control message, Linux >= 4.18): a run
  of datagrams of equal size S to one destination (the last of the run may be shorter) leaves
  as ONE message of up to 64 segments and at most 65,507 bytes; the kernel (or the device)
  cuts it into datagrams of S bytes, exactly what a ``sendto`` per datagram would have sent.
* **sendmmsg**: every other datagram is one message; up to 1,024 messages (UIO_MAXIOV) per
  system call, GSO and plain messages mixed in the same call.

Argument checking and collecting the buffer pointers happen with the GIL held (the datagrams
are ``bytes``, immutable; a private tuple keeps them alive); the message building and the
system calls run with the GIL released. The batch is handled in slices of 4,096 datagrams, so
the scratch arrays (kept between calls) stay small and other threads get the GIL in between.
No Python object is created per datagram. The message building and system-call loops are C in
``native/src/udp_batch_send.c`` (send) and ``native/src/udp_batch_recv.c`` (receive).

Errors never raise once the arguments are valid; they are counted and reported:

* a GSO message that fails in a way GSO may cause (EIO: no checksum offload on the route;
  EINVAL: segment above the route MTU, or ``SO_NO_CHECK``; ENOPROTOOPT/EOPNOTSUPP: no GSO;
  EMSGSIZE) is re-sent as plain datagrams (other errors count for all its datagrams);
  EIO/ENOPROTOOPT/EOPNOTSUPP turn GSO off for this sender, EINVAL lowers the largest segment
  size GSO is tried with and, after three such failures, turns GSO off as well;
* EAGAIN/EWOULDBLOCK (non-blocking send, or SO_SNDTIMEO expired) stops the batch: the result
  tells where (``stopped_at``), the caller may wait for the socket to be writable and resume.
  (A blocking sendmmsg whose timeout expires after some messages returns a short count; the
  call after a short count is non-blocking, so one stall costs one timeout, not two);
* EBADF/ENOTSOCK/EFAULT/EDESTADDRREQ and eight ENOBUFS/ENOMEM in a row stop the batch too;
* any other error (EMSGSIZE, ENETUNREACH, EPERM, ...) drops that datagram and goes on.

Receive (:class:`BatchReceiver`): one ``recvmmsg`` with ``MSG_DONTWAIT`` takes every datagram
already queued on the socket, up to ``max_count``, into buffers of ``max_size`` bytes kept
between calls (allocated lazily by the kernel's page faults: a 1.2 kB datagram touches one page
of its 64 kB slot); the GIL is released for the system call, then one ``bytes`` per datagram is
built. Nothing queued -> an empty list; a datagram longer than ``max_size`` is reported as
truncated (``truncated`` counter) and dropped; a pending socket error (e.g. an ICMP port
unreachable on a connected socket) with nothing received raises ``OSError``.
"""

from cpython.bytes cimport (
    PyBytes_AS_STRING,
    PyBytes_Check,
    PyBytes_FromStringAndSize,
    PyBytes_GET_SIZE,
)
from cpython.mem cimport PyMem_Free, PyMem_Malloc

__all__ = [
    "MAX_DATAGRAM",
    "MAX_GSO_PAYLOAD",
    "MAX_RECV_BATCH",
    "MAX_SEGMENTS",
    "MSG_DONTWAIT",
    "BatchReceiver",
    "BatchSender",
    "gso_supported",
]

# The C of the send path: native/src/udp_batch_send.c (an extra source of this extension).
cdef extern from "udp_batch_send.h":
    enum:
        US_MAX_SEGMENTS
        US_MAX_GSO_PAYLOAD
        US_MAX_VLEN
        US_SLICE
        US_CTRL_SPACE
        C_MSG_DONTWAIT "MSG_DONTWAIT"

    ctypedef unsigned int socklen_t
    struct sockaddr:
        pass
    struct mmsghdr:
        pass
    struct iovec:
        pass

    ctypedef struct us_item:
        const char *buf
        size_t len
        const sockaddr *name
        socklen_t namelen

    ctypedef struct us_state:
        int gso
        size_t gso_max_seg
        int gso_strikes
        unsigned long long syscalls
        unsigned long long gso_messages
        unsigned long long gso_fallbacks
        mmsghdr *msgs
        iovec *iov
        unsigned char *ctrl
        size_t *first
        size_t *count

    ctypedef struct us_result:
        size_t sent
        size_t sent_bytes
        size_t failed
        size_t stopped_at
        int last_errno
        int stopped

    void us_send(us_state *st, int fd, int flags, const us_item *it, size_t n,
                 us_result *res) noexcept nogil
    int us_probe_gso(int fd) noexcept nogil


#: Most segments in one GSO message (Linux 4.18 limit; later kernels allow 128).
MAX_SEGMENTS = US_MAX_SEGMENTS
#: Most payload bytes in one GSO message (0xFFFF minus the IPv4 and UDP headers).
MAX_GSO_PAYLOAD = US_MAX_GSO_PAYLOAD
#: ``flags`` value for a send that never blocks (EAGAIN stops the batch instead).
MSG_DONTWAIT = C_MSG_DONTWAIT


def gso_supported(int fd):
    """True when the kernel knows ``UDP_SEGMENT`` on this UDP socket (Linux >= 4.18)."""
    return bool(us_probe_gso(fd))


cdef const char *_sockaddr(object name, socklen_t *length) except NULL:
    if not PyBytes_Check(name):
        raise TypeError("a destination must be a packed sockaddr (bytes)")
    cdef Py_ssize_t n = PyBytes_GET_SIZE(name)
    if n < 16 or n > 128:
        raise ValueError(f"a packed sockaddr is 16..128 bytes, got {n}")
    length[0] = <socklen_t>n
    return PyBytes_AS_STRING(name)


cdef class BatchSender:
    """Sends batches on the UDP socket ``fd`` (not owned: the caller closes it).

    ``gso``: build GSO messages for runs of equal-size datagrams (turned off by itself when the
    kernel or the route does not support it; see :attr:`gso`). One sender must not be used by
    two threads at once (RuntimeError).
    """

    cdef us_state st
    cdef us_item *items
    cdef int fd
    cdef bint busy

    def __cinit__(self, int fd, bint gso=True):
        self.items = NULL
        self.st.msgs = NULL
        self.st.iov = NULL
        self.st.ctrl = NULL
        self.st.first = NULL
        self.st.count = NULL
        self.fd = fd
        self.busy = False
        self.st.gso = 1 if (gso and us_probe_gso(fd)) else 0
        self.st.gso_max_seg = US_MAX_GSO_PAYLOAD
        self.st.gso_strikes = 0
        self.st.syscalls = 0
        self.st.gso_messages = 0
        self.st.gso_fallbacks = 0
        self.items = <us_item *>PyMem_Malloc(US_SLICE * sizeof(us_item))
        self.st.iov = <iovec *>PyMem_Malloc(US_SLICE * sizeof(iovec))
        self.st.msgs = <mmsghdr *>PyMem_Malloc(US_MAX_VLEN * sizeof(mmsghdr))
        self.st.ctrl = <unsigned char *>PyMem_Malloc(US_MAX_VLEN * US_CTRL_SPACE)
        self.st.first = <size_t *>PyMem_Malloc(US_MAX_VLEN * sizeof(size_t))
        self.st.count = <size_t *>PyMem_Malloc(US_MAX_VLEN * sizeof(size_t))
        if (self.items == NULL or self.st.iov == NULL or self.st.msgs == NULL
                or self.st.ctrl == NULL or self.st.first == NULL or self.st.count == NULL):
            raise MemoryError()

    def __dealloc__(self):
        PyMem_Free(self.items)
        PyMem_Free(self.st.iov)
        PyMem_Free(self.st.msgs)
        PyMem_Free(self.st.ctrl)
        PyMem_Free(self.st.first)
        PyMem_Free(self.st.count)

    @property
    def gso(self):
        """True while GSO messages are built (False if off or found unsupported)."""
        return bool(self.st.gso)

    @property
    def gso_max_segment(self):
        """Largest segment size GSO is still tried with (lowered after EINVAL)."""
        return self.st.gso_max_seg

    @property
    def syscalls(self):
        """sendmmsg calls made so far."""
        return self.st.syscalls

    @property
    def gso_messages(self):
        """GSO messages (each several datagrams) sent so far."""
        return self.st.gso_messages

    @property
    def gso_fallbacks(self):
        """GSO messages that failed and were re-sent as plain datagrams."""
        return self.st.gso_fallbacks

    def send(self, datagrams, dest, int flags=0):
        """Send ``datagrams`` (a sequence of bytes) to ``dest``.

        ``dest``: one packed sockaddr (bytes) for all, or a sequence of them, one per datagram.
        ``flags``: sendmmsg flags (0, or :data:`MSG_DONTWAIT`).

        Returns ``(sent, sent_bytes, failed, stopped_at, last_errno)``: ``failed`` datagrams
        were dropped with an error, ``datagrams[stopped_at:]`` were not attempted (the batch
        stopped on ``last_errno``, e.g. EAGAIN); ``sent + failed == stopped_at``.
        ``last_errno`` is the last error seen (0: none).
        """
        cdef tuple data = datagrams if type(datagrams) is tuple else tuple(datagrams)
        cdef tuple names = None
        cdef Py_ssize_t n = len(data)
        cdef Py_ssize_t base, count, k
        cdef object item
        cdef const char *one_name = NULL
        cdef socklen_t one_len = 0
        cdef us_result res
        cdef us_result part
        if PyBytes_Check(dest):
            one_name = _sockaddr(dest, &one_len)
        else:
            names = dest if type(dest) is tuple else tuple(dest)
            if len(names) != n:
                raise ValueError(f"{len(names)} destinations for {n} datagrams")
        # Everything is checked before the first send: an error never follows a partial send.
        for k in range(n):
            item = data[k]
            if not PyBytes_Check(item):
                raise TypeError(f"datagram {k} is {type(item).__name__}, not bytes")
            if names is not None:
                _sockaddr(names[k], &one_len)
        if self.busy:
            raise RuntimeError("BatchSender used by two threads at once")
        self.busy = True
        res.sent = 0
        res.sent_bytes = 0
        res.failed = 0
        res.stopped_at = 0
        res.last_errno = 0
        res.stopped = 0
        try:
            base = 0
            while base < n:
                count = min(n - base, <Py_ssize_t>US_SLICE)
                for k in range(count):
                    item = data[base + k]
                    self.items[k].buf = PyBytes_AS_STRING(item)
                    self.items[k].len = <size_t>PyBytes_GET_SIZE(item)
                    if one_name != NULL:
                        self.items[k].name = <const sockaddr *>one_name
                        self.items[k].namelen = one_len
                    else:
                        self.items[k].name = <const sockaddr *>_sockaddr(
                            names[base + k], &self.items[k].namelen)
                part.sent = 0
                part.sent_bytes = 0
                part.failed = 0
                part.stopped_at = 0
                part.last_errno = 0
                part.stopped = 0
                with nogil:
                    us_send(&self.st, self.fd, flags, self.items, <size_t>count, &part)
                res.sent += part.sent
                res.sent_bytes += part.sent_bytes
                res.failed += part.failed
                if part.last_errno:
                    res.last_errno = part.last_errno
                if part.stopped:
                    res.stopped_at = <size_t>base + part.stopped_at
                    res.stopped = 1
                    break
                base += count
            if not res.stopped:
                res.stopped_at = <size_t>n
        finally:
            self.busy = False
        return (res.sent, res.sent_bytes, res.failed, res.stopped_at, res.last_errno)


# --- receive ----------------------------------------------------------------------------------

# The C of the receive path: native/src/udp_batch_recv.c (an extra source of this extension).
cdef extern from "udp_batch_recv.h":
    enum:
        UR_MAX_COUNT
        UR_MAX_DATAGRAM
        C_AF_INET6 "AF_INET6"
        C_EAGAIN "EAGAIN"
        C_EWOULDBLOCK "EWOULDBLOCK"

    ctypedef struct ur_state:
        size_t count
        size_t size

    int ur_alloc(ur_state *st, size_t count, size_t size) noexcept nogil
    void ur_free(ur_state *st) noexcept nogil
    int ur_recv(ur_state *st, int fd, size_t n) noexcept nogil
    const char *ur_data(const ur_state *st, size_t i) noexcept nogil
    size_t ur_len(const ur_state *st, size_t i) noexcept nogil
    int ur_truncated(const ur_state *st, size_t i) noexcept nogil
    int ur_addr(const ur_state *st, size_t i, char *host, size_t hostlen, unsigned int *port,
                unsigned int *flowinfo, unsigned int *scope) noexcept nogil


#: Most datagrams one :meth:`BatchReceiver.recv_batch` call takes (UIO_MAXIOV).
MAX_RECV_BATCH = UR_MAX_COUNT
#: Largest UDP payload: a receive buffer of this size never truncates.
MAX_DATAGRAM = UR_MAX_DATAGRAM


cdef class BatchReceiver:
    """Receives batches from the UDP socket ``fd`` (not owned: the caller closes it, and keeps
    it non-blocking or not: every call uses ``MSG_DONTWAIT``).

    ``max_count`` (1..1024) datagrams at most per call, each up to ``max_size`` (1..65535)
    bytes. One receiver must not be used by two threads at once (RuntimeError).
    """

    cdef ur_state st
    cdef int fd
    cdef bint busy
    cdef readonly unsigned long long syscalls
    cdef readonly unsigned long long truncated

    def __cinit__(self, int fd, Py_ssize_t max_count=256, Py_ssize_t max_size=UR_MAX_DATAGRAM):
        if not 1 <= max_count <= UR_MAX_COUNT:
            raise ValueError(f"max_count must be 1..{UR_MAX_COUNT}, got {max_count}")
        if not 1 <= max_size <= UR_MAX_DATAGRAM:
            raise ValueError(f"max_size must be 1..{UR_MAX_DATAGRAM}, got {max_size}")
        if fd < 0:
            raise ValueError(f"bad file descriptor {fd}")
        self.fd = fd
        self.busy = False
        self.syscalls = 0
        self.truncated = 0
        if ur_alloc(&self.st, <size_t>max_count, <size_t>max_size) != 0:
            raise MemoryError()

    def __dealloc__(self):
        ur_free(&self.st)

    @property
    def max_count(self):
        return self.st.count

    @property
    def max_size(self):
        return self.st.size

    def recv_batch(self, Py_ssize_t max_count=-1, bint addresses=False):
        """The datagrams queued on the socket now, oldest first, at most ``max_count``
        (default and cap: the receiver's). Never blocks: an empty list when none is queued.

        ``addresses``: return ``(datagrams, sources)`` with each source as ``socket.recvfrom``
        gives it, ``(host, port)`` for IPv4 and ``(host, port, flowinfo, scope_id)`` for IPv6
        (None for another family). Truncated datagrams (longer than ``max_size``) are dropped
        and counted in :attr:`truncated`. OSError for a socket error when nothing was received.
        """
        cdef size_t want = self.st.count
        cdef int r, fam
        cdef Py_ssize_t i
        cdef list out
        cdef list srcs = None
        cdef char host[64]
        cdef unsigned int port = 0, flowinfo = 0, scope = 0
        if 0 <= max_count < <Py_ssize_t>want:
            want = <size_t>max_count
        if want == 0:
            return ([], []) if addresses else []
        if self.busy:
            raise RuntimeError("BatchReceiver used by two threads at once")
        self.busy = True
        try:
            with nogil:
                r = ur_recv(&self.st, self.fd, want)
            self.syscalls += 1
            if r < 0:
                if -r == C_EAGAIN or -r == C_EWOULDBLOCK:
                    r = 0
                else:
                    raise OSError(-r, os_strerror(-r))
            out = []
            if addresses:
                srcs = []
            for i in range(r):
                if ur_truncated(&self.st, <size_t>i):
                    self.truncated += 1
                    continue
                out.append(PyBytes_FromStringAndSize(ur_data(&self.st, <size_t>i),
                                                     <Py_ssize_t>ur_len(&self.st, <size_t>i)))
                if addresses:
                    fam = ur_addr(&self.st, <size_t>i, host, sizeof(host), &port, &flowinfo,
                                  &scope)
                    if fam == 0:
                        srcs.append(None)
                    elif fam == C_AF_INET6:
                        srcs.append((host.decode("ascii"), port, flowinfo, scope))
                    else:
                        srcs.append((host.decode("ascii"), port))
        finally:
            self.busy = False
        return (out, srcs) if addresses else out


cdef str os_strerror(int code):
    import os
    return os.strerror(code)
