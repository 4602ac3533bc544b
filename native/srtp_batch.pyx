# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Batch SRTP protect/unprotect on OpenSSL libcrypto — ``broadcast._native.srtp_batch``.

Byte-for-byte equivalent of the pure-Python per-packet transform in
``broadcast.proto.srtp.transform`` (``protect_rtp`` / ``split_srtp`` + ``verify_rtp`` + ``decrypt_rtp``)
for the SRTP (not SRTCP) transforms of ``broadcast.proto.srtp.policy``: AES-CM-128 or NULL cipher;
NULL, HMAC-SHA1 or the RFC 4771 RCCm1/RCCm2/RCCm3 authentication. One call handles many packets
under ONE set of session keys (k_e 16, k_s 14, k_a) and ONE MKI; the caller supplies each
packet's 48-bit index i = 2^16·ROC + SEQ (the index/ROC/replay accounting is
``broadcast.proto.srtp.batch``'s, which uses :func:`scan_rtp` and :func:`estimate_indices` below for
its common case: well-formed packets whose indices strictly increase per SSRC).

Per packet (RFC 3711 §3.3, §4.1.1, §4.2.1; RFC 4771 §2, §3):

    header  = fixed 12 bytes + 4·CC + (X ? 4 + 4·ext_len : 0)        (left in clear)
    IV      = (k_s·2^16) XOR (SSRC·2^64) XOR (i·2^16)
    payload = AES-CM(k_e, IV, payload)                                (unless the NULL cipher)
    MAC     = HMAC-SHA1(k_a, header || payload || ROC)                ROC = i >> 16, 32-bit BE
    tag     = HMAC: MAC[:tag_len];  RCCm1/2 with SEQ % R == 0: ROC || MAC[:tag_len-4];
              RCCm2 otherwise: MAC[:tag_len];  RCCm1 otherwise: none;
              RCCm3: ROC when SEQ % R == 0, else none;  NULL: none
    SRTP    = header || payload || MKI || tag

All argument checking (types, lengths, header bounds) happens first, with the GIL held; then the
loop runs with the GIL released on one AES-128-CTR context (keyed once, re-IVed per packet) and
one set of precomputed HMAC inner/outer SHA-1 states. The output ``bytes`` are allocated before
the loop and written in place: the only per-packet Python objects are the results. Packets go
in groups of four: each is encrypted (protect) and the group's four MACs are then computed in
one pass while the data is in cache (unprotect: MACs first, then only verified packets are
decrypted).

HMAC-SHA-1 engines (identical bytes; :func:`sha1_engines`, :func:`set_sha1_engine`), both in
C in ``native/src/srtp_hmac.c``: ``"sha-ni"`` — the x86 SHA extensions with the four MACs'
SHA-1 chains interleaved (one chain is bound by the SHA1RNDS4 latency, four keep the unit busy:
~2x OpenSSL's single-stream SHA-NI), chosen at import when CPUID has SHA + SSSE3 + SSE4.1 and a
self-test against the other engine passes; ``"openssl"`` — SHA1_Update/SHA1_Final on copied
SHA_CTX states (the deprecated-in-3.0 low-level API: no EVP dispatch and no allocation per MAC;
the deprecation warning is silenced in that C file only). Measured on the project machine (AMD
EPYC, OpenSSL 3.0, 1200-byte payloads, 256-packet batches), protect kernel: 0.61 µs/packet with
"sha-ni", 0.97 with "openssl"; ``benchmarks/compare_srtp.py`` prints the current figures.

Errors: bad arguments or a malformed packet -> TypeError / ValueError naming the packet (the
typed ``SrtpError`` checks are done by the Python wrapper before calling in); a libcrypto
failure -> RuntimeError. The AES-CM and error helpers come from ``native/_crypto_impl.pxi``.
"""

from cpython.bytes cimport (
    PyBytes_AS_STRING,
    PyBytes_Check,
    PyBytes_FromStringAndSize,
    PyBytes_GET_SIZE,
)
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int64_t
from libc.string cimport memcmp

include "_crypto_impl.pxi"

# The HMAC-SHA-1 engines in C: native/src/srtp_hmac.c (an extra source of this extension).
cdef extern from "srtp_hmac.h":
    ctypedef struct sb_hmac:
        pass
    ctypedef struct sb_mac_job:
        const unsigned char *data
        size_t len
        unsigned char suffix[4]
        unsigned char mac[20]
    enum:
        SB_LANES
        SB_HAVE_NI_CODE
    int sb_engine
    void sb_hmac_init(sb_hmac *h, const unsigned char *key, size_t keylen) noexcept nogil
    void sb_hmac_clear(sb_hmac *h) noexcept nogil
    void sb_hmac_run(int engine, const sb_hmac *h, sb_mac_job *jobs, size_t n) noexcept nogil
    int sb_cpu_has_sha_ni() noexcept nogil
    int sb_self_test() noexcept nogil

__all__ = [
    "AUTH_HMAC_SHA1",
    "AUTH_NULL",
    "AUTH_RCCM1",
    "AUTH_RCCM2",
    "AUTH_RCCM3",
    "MAX_PAYLOAD",
    "estimate_indices",
    "protect_batch",
    "scan_rtp",
    "set_sha1_engine",
    "sha1_engine",
    "sha1_engines",
    "unprotect_batch",
]

cdef enum:
    # Authentication modes (same numbers as broadcast.proto.srtp.policy.Auth / RFC 3830, RFC 4771).
    SB_AUTH_NULL = 0
    SB_AUTH_HMAC = 1
    SB_AUTH_RCCM1 = 2
    SB_AUTH_RCCM2 = 3
    SB_AUTH_RCCM3 = 4

    SB_RTP_FIXED = 12
    SB_ROC_LEN = 4
    SB_MAX_TAG = SB_ROC_LEN + NC_SHA1_LEN
    SB_MAX_MKI = 128
    SB_MAX_SCAN_SSRCS = 255         # scan_rtp gives up on batches with more distinct SSRCs

AUTH_NULL = SB_AUTH_NULL
AUTH_HMAC_SHA1 = SB_AUTH_HMAC
AUTH_RCCM1 = SB_AUTH_RCCM1
AUTH_RCCM2 = SB_AUTH_RCCM2
AUTH_RCCM3 = SB_AUTH_RCCM3
#: AES-CM produces at most 2^16 blocks under one SRTP IV (RFC 3711 §4.1.1).
MAX_PAYLOAD = 16 << 16
cdef size_t SB_MAX_PAYLOAD = 16 << 16
cdef uint64_t SB_INDEX_LIMIT = (<uint64_t>1) << 48


# --- HMAC-SHA-1 engine selection ---------------------------------------------------------------

cdef bint _sb_ni_usable = SB_HAVE_NI_CODE and sb_cpu_has_sha_ni() and sb_self_test()
sb_engine = 1 if _sb_ni_usable else 0


def sha1_engines():
    """The HMAC-SHA-1 engines usable on this machine: ``"openssl"`` always, ``"sha-ni"`` when
    the CPU has the x86 SHA extensions (and the import-time self-test against OpenSSL passed)."""
    return ("openssl", "sha-ni") if _sb_ni_usable else ("openssl",)


def sha1_engine():
    """The engine the next batch uses (the fastest usable one unless set otherwise)."""
    return "sha-ni" if sb_engine else "openssl"


def set_sha1_engine(str name):
    """Select the HMAC-SHA-1 engine (tests and benchmarks); returns the previous one.

    Both give identical bytes. ValueError for an unknown or unusable engine. A batch already
    running keeps the engine it started with.
    """
    global sb_engine
    if name not in sha1_engines():
        raise ValueError(f"SHA-1 engine {name!r} is not usable here; usable: {sha1_engines()}")
    previous = sha1_engine()
    sb_engine = 1 if name == "sha-ni" else 0
    return previous


cdef struct _sb_params:
    const unsigned char *salt       # k_s, 14 bytes
    const unsigned char *mki
    size_t mki_len
    int encrypt                     # 0: NULL cipher
    int auth                        # SB_AUTH_*
    size_t tag_len                  # configured tag length (incl. the ROC for RCC)
    uint32_t roc_rate               # R (RCC only)


cdef struct _sb_pkt:
    const unsigned char *inp        # borrowed from a bytes object held by a tuple
    size_t portion                  # header + payload (protect: the input length)
    size_t hl                       # clear header length
    size_t tag_len                  # this packet's tag length
    uint64_t index
    unsigned char *out              # buffer of a result bytes object
    int ok                          # unprotect: 1 = tag verified / nothing to verify


cdef struct _sb_work:
    EVP_CIPHER_CTX *cipher
    sb_hmac hk
    int has_hk
    int engine                      # HMAC engine for this batch (sb_engine when it started)


cdef void _sb_work_free(_sb_work *w) noexcept nogil:
    EVP_CIPHER_CTX_free(w.cipher)   # wipes the key schedule
    w.cipher = NULL
    if w.has_hk:
        sb_hmac_clear(&w.hk)
    w.has_hk = 0


cdef int _sb_work_init(_sb_work *w, const unsigned char *k_e, const unsigned char *k_a,
                       size_t k_a_len) noexcept nogil:
    memset(w, 0, sizeof(_sb_work))
    w.engine = sb_engine
    w.cipher = EVP_CIPHER_CTX_new()
    if w.cipher == NULL:
        return NC_ERR_NOMEM
    if k_e != NULL and EVP_EncryptInit_ex2(w.cipher, _nc_aes128ctr, k_e, NULL, NULL) != 1:
        _sb_work_free(w)
        return NC_ERR_CIPHER
    if k_a != NULL:
        sb_hmac_init(&w.hk, k_a, k_a_len)      # k_a_len <= 64: checked by _sb_params_init
        w.has_hk = 1
    return NC_OK


cdef inline int _sb_carries_roc(const _sb_params *p, uint32_t seq) noexcept nogil:
    return (p.auth >= SB_AUTH_RCCM1) and (seq % p.roc_rate == 0)


cdef inline size_t _sb_tag_len_for(const _sb_params *p, uint32_t seq) noexcept nogil:
    """CryptoPolicy.srtp_tag_len_for(seq)."""
    if p.auth == SB_AUTH_NULL:
        return 0
    if p.auth == SB_AUTH_HMAC or p.auth == SB_AUTH_RCCM2:
        return p.tag_len
    return p.tag_len if seq % p.roc_rate == 0 else 0


cdef Py_ssize_t _sb_header_len(const unsigned char *b, size_t n, size_t limit) noexcept nogil:
    """packet.rtp_header_len: the clear header length, or -1 when it runs past ``limit``.

    The caller has checked n >= 12 and the version.
    """
    cdef size_t length = SB_RTP_FIXED + 4 * <size_t>(b[0] & 0x0F)
    if b[0] & 0x10:
        if length + 4 > limit:
            return -1
        length += 4 + 4 * ((<size_t>b[length + 2] << 8) | b[length + 3])
    if length > limit:
        return -1
    return <Py_ssize_t>length


cdef inline void _sb_iv(const unsigned char *salt, const unsigned char *hdr, uint64_t index,
                        unsigned char *iv) noexcept nogil:
    """IV = (k_s·2^16) XOR (SSRC·2^64) XOR (i·2^16); SSRC = header bytes 8..11."""
    cdef int k
    memcpy(iv, salt, 14)
    iv[14] = 0
    iv[15] = 0
    for k in range(4):
        iv[4 + k] ^= hdr[8 + k]
    for k in range(6):
        iv[8 + k] ^= <unsigned char>(index >> (8 * (5 - k)))


cdef int _sb_crypt(_sb_work *w, const _sb_params *p, const _sb_pkt *pk,
                   const unsigned char *src, unsigned char *dst) noexcept nogil:
    """dst[hl:portion] = AES-CM(src[hl:portion]) (or a copy under the NULL cipher).

    One AES-128-CTR context keyed once per batch; only the IV is set per packet.
    """
    cdef unsigned char iv[16]
    cdef size_t n = pk.portion - pk.hl
    cdef int outl = 0
    if n == 0:
        return NC_OK
    if not p.encrypt:
        if dst != src:
            memcpy(dst + pk.hl, src + pk.hl, n)
        return NC_OK
    _sb_iv(p.salt, src, pk.index, iv)
    if (EVP_EncryptInit_ex(w.cipher, NULL, NULL, NULL, iv) != 1
            or EVP_EncryptUpdate(w.cipher, dst + pk.hl, &outl, src + pk.hl, <int>n) != 1
            or <size_t>outl != n):
        return NC_ERR_CIPHER
    return NC_OK


cdef inline int _sb_needs_mac(const _sb_params *p, const _sb_pkt *pk) noexcept nogil:
    """An HMAC is computed for this packet (RCCm3 tags are the bare ROC)."""
    return pk.tag_len > 0 and p.auth != SB_AUTH_RCCM3


cdef void _sb_tag(const _sb_params *p, const _sb_pkt *pk, const unsigned char *mac,
                  unsigned char *tag) noexcept nogil:
    """transform/auth.srtp_tag for a packet whose tag is ``pk.tag_len`` (> 0) bytes, from its
    MAC = HMAC-SHA1(k_a, portion || ROC) (unused for RCCm3)."""
    cdef unsigned char roc[SB_ROC_LEN]
    _nc_put_u32(roc, <uint32_t>(pk.index >> 16))
    if p.auth == SB_AUTH_RCCM3:
        memcpy(tag, roc, SB_ROC_LEN)
    elif _sb_carries_roc(p, <uint32_t>(pk.index & 0xFFFF)):
        memcpy(tag, roc, SB_ROC_LEN)
        memcpy(tag + SB_ROC_LEN, mac, pk.tag_len - SB_ROC_LEN)
    else:
        memcpy(tag, mac, pk.tag_len)


cdef inline void _sb_job(sb_mac_job *j, const unsigned char *portion, const _sb_pkt *pk) noexcept nogil:
    j.data = portion
    j.len = pk.portion
    _nc_put_u32(j.suffix, <uint32_t>(pk.index >> 16))


cdef int _sb_protect_all(const _sb_params *p, _sb_work *w, _sb_pkt *pkts,
                         Py_ssize_t n) noexcept nogil:
    """Packets in groups of SB_LANES: encrypt each (output buffer, MKI appended), then the
    group's MACs in one engine call while the packets are still in cache, then the tags."""
    cdef Py_ssize_t g, i, m, k, end
    cdef int rc = NC_OK
    cdef _sb_pkt *pk
    cdef sb_mac_job jobs[SB_LANES]
    cdef Py_ssize_t owner[SB_LANES]
    cdef unsigned char *q
    cdef unsigned char nomac[NC_SHA1_LEN]
    memset(nomac, 0, NC_SHA1_LEN)
    g = 0
    while g < n:
        m = 0
        i = g
        while i < n and i < g + SB_LANES:
            pk = &pkts[i]
            memcpy(pk.out, pk.inp, pk.hl)
            rc = _sb_crypt(w, p, pk, pk.inp, pk.out)
            if rc != NC_OK:
                return rc
            if p.mki_len > 0:
                memcpy(pk.out + pk.portion, p.mki, p.mki_len)
            if _sb_needs_mac(p, pk):
                _sb_job(&jobs[m], pk.out, pk)
                owner[m] = i
                m += 1
            i += 1
        if m > 0:
            sb_hmac_run(w.engine, &w.hk, jobs, <size_t>m)
        end = i
        k = 0
        for i in range(g, end):
            pk = &pkts[i]
            if pk.tag_len == 0:
                continue
            q = pk.out + pk.portion + p.mki_len
            if k < m and owner[k] == i:
                _sb_tag(p, pk, jobs[k].mac, q)
                k += 1
            else:
                _sb_tag(p, pk, nomac, q)        # RCCm3: the ROC alone (no MAC read)
        g += SB_LANES
    OPENSSL_cleanse(jobs, sizeof(jobs))
    return rc


cdef int _sb_unprotect_all(const _sb_params *p, _sb_work *w, _sb_pkt *pkts,
                           Py_ssize_t n) noexcept nogil:
    """Groups of SB_LANES: the MACs of the group's packets in one engine call, tags compared
    with CRYPTO_memcmp, then only the verified packets decrypted."""
    cdef Py_ssize_t g, i, m, k, end
    cdef int rc = NC_OK
    cdef _sb_pkt *pk
    cdef sb_mac_job jobs[SB_LANES]
    cdef Py_ssize_t owner[SB_LANES]
    cdef unsigned char expected[SB_MAX_TAG]
    g = 0
    while g < n:
        end = g + SB_LANES if g + SB_LANES < n else n
        m = 0
        for i in range(g, end):
            pk = &pkts[i]
            if pk.ok and _sb_needs_mac(p, pk):   # not ok: MKI of another key, left as None
                _sb_job(&jobs[m], pk.inp, pk)
                owner[m] = i
                m += 1
        if m > 0:
            sb_hmac_run(w.engine, &w.hk, jobs, <size_t>m)
        for k in range(m):
            pk = &pkts[owner[k]]
            _sb_tag(p, pk, jobs[k].mac, expected)
            if CRYPTO_memcmp(expected, pk.inp + pk.portion + p.mki_len, pk.tag_len) != 0:
                pk.ok = 0
        for i in range(g, end):
            pk = &pkts[i]
            if not pk.ok:
                continue
            memcpy(pk.out, pk.inp, pk.hl)
            rc = _sb_crypt(w, p, pk, pk.inp, pk.out)
            if rc != NC_OK:
                return rc
        g = end
    OPENSSL_cleanse(expected, SB_MAX_TAG)
    OPENSSL_cleanse(jobs, sizeof(jobs))
    return rc


# --- argument checking (GIL held) -------------------------------------------------------------

cdef int _sb_params_init(_sb_params *p, object k_e, object k_s, object k_a, object mki,
                         int encrypt, int auth, Py_ssize_t tag_len, long roc_rate,
                         const unsigned char **kep, const unsigned char **kap,
                         size_t *kalen) except -1:
    memset(p, 0, sizeof(_sb_params))
    if auth < SB_AUTH_NULL or auth > SB_AUTH_RCCM3:
        raise ValueError(f"unknown SRTP authentication mode {auth}")
    if auth == SB_AUTH_NULL:
        tag_len = 0
    elif auth == SB_AUTH_HMAC:
        if not 4 <= tag_len <= NC_SHA1_LEN:
            raise ValueError("HMAC-SHA1 tag length must be 4..20 bytes")
    elif auth == SB_AUTH_RCCM3:
        if tag_len != SB_ROC_LEN:
            raise ValueError("RCCm3 tag length must be 4")
    elif not SB_ROC_LEN <= tag_len <= SB_MAX_TAG:
        raise ValueError("RCC tag length must be 4..24 bytes")
    if not 1 <= roc_rate <= 0xFFFF:
        raise ValueError("ROC transmission rate R must be 1..65535")
    p.encrypt = 1 if encrypt else 0
    p.auth = auth
    p.tag_len = <size_t>tag_len
    p.roc_rate = <uint32_t>roc_rate
    p.salt = _nc_borrow_bytes(k_s, "k_s", -1, NC_SALT_LEN, NC_SALT_LEN)
    p.mki = _nc_borrow_bytes(mki, "mki", -1, 0, SB_MAX_MKI)
    p.mki_len = <size_t>PyBytes_GET_SIZE(mki)
    kep[0] = (_nc_borrow_bytes(k_e, "k_e", -1, NC_AES128_KEY_LEN, NC_AES128_KEY_LEN)
              if p.encrypt else NULL)
    kap[0] = NULL
    kalen[0] = 0
    if auth != SB_AUTH_NULL and auth != SB_AUTH_RCCM3:
        kap[0] = _nc_borrow_bytes(k_a, "k_a", -1, 1, NC_SHA1_BLOCK)
        kalen[0] = <size_t>PyBytes_GET_SIZE(k_a)
    return 0


cdef uint64_t _sb_index(object value, Py_ssize_t i) except? 0xFFFFFFFFFFFFFFFF:
    cdef unsigned long long v
    try:
        v = value
    except OverflowError:
        raise ValueError(f"indices[{i}] must be 0..2^48-1") from None
    if v >= SB_INDEX_LIMIT:
        raise ValueError(f"indices[{i}] must be 0..2^48-1")
    return <uint64_t>v


cdef const unsigned char *_sb_packet(object value, Py_ssize_t i, Py_ssize_t *n) except NULL:
    if not PyBytes_Check(value):
        raise TypeError(f"packets[{i}] must be bytes, not {type(value).__name__}")
    n[0] = PyBytes_GET_SIZE(value)
    return <const unsigned char *>PyBytes_AS_STRING(value)


cdef object _sb_run(object k_e, object k_s, object k_a, object mki, int encrypt, int auth,
                    Py_ssize_t tag_len, long roc_rate, object packets, object indices,
                    bint protect):
    cdef _sb_params p
    cdef _sb_work w
    cdef const unsigned char *kep
    cdef const unsigned char *kap
    cdef size_t kalen
    cdef tuple pk_t = tuple(packets)     # keeps the input bytes alive while the GIL is released
    cdef tuple ix_t = tuple(indices)
    cdef Py_ssize_t n = len(pk_t)
    cdef Py_ssize_t i, plen, hl, end
    cdef _sb_pkt *pkts
    cdef _sb_pkt *pk
    cdef const unsigned char *b
    cdef uint32_t seq
    cdef list out
    cdef bytes ob
    cdef int rc
    _sb_params_init(&p, k_e, k_s, k_a, mki, encrypt, auth, tag_len, roc_rate, &kep, &kap, &kalen)
    if len(ix_t) != n:
        raise ValueError(f"{n} packets but {len(ix_t)} indices")
    if n == 0:
        return []
    pkts = <_sb_pkt *>PyMem_Malloc(n * sizeof(_sb_pkt))
    if pkts == NULL:
        raise MemoryError()
    try:
        out = [None] * n
        for i in range(n):
            pk = &pkts[i]
            b = _sb_packet(pk_t[i], i, &plen)
            pk.inp = b
            pk.index = _sb_index(ix_t[i], i)
            pk.ok = 1
            if plen < SB_RTP_FIXED:
                raise ValueError(f"packets[{i}]: {plen} bytes is shorter than the RTP header")
            if b[0] >> 6 != 2:
                raise ValueError(f"packets[{i}]: RTP version {b[0] >> 6}, expected 2")
            seq = (<uint32_t>b[2] << 8) | b[3]
            if seq != <uint32_t>(pk.index & 0xFFFF):
                raise ValueError(f"indices[{i}] does not end in the packet's SEQ {seq}")
            pk.tag_len = _sb_tag_len_for(&p, seq)
            if protect:
                end = plen
            else:
                end = plen - <Py_ssize_t>(p.mki_len + pk.tag_len)
                if end < SB_RTP_FIXED:
                    raise ValueError(f"packets[{i}]: {plen} bytes cannot hold an RTP header, "
                                     "MKI and tag")
            hl = _sb_header_len(b, <size_t>plen, <size_t>end)
            if hl < 0:
                raise ValueError(f"packets[{i}]: RTP header runs past the packet")
            if p.encrypt and <size_t>(end - hl) > SB_MAX_PAYLOAD:
                raise ValueError(f"packets[{i}]: encrypted portion exceeds 2^16 AES blocks")
            pk.portion = <size_t>end
            pk.hl = <size_t>hl
            if protect:
                ob = PyBytes_FromStringAndSize(NULL, plen + <Py_ssize_t>(p.mki_len + pk.tag_len))
            else:
                if p.mki_len > 0 and memcmp(b + end, p.mki, p.mki_len) != 0:
                    pk.ok = 0       # another master key's packet
                    continue
                ob = PyBytes_FromStringAndSize(NULL, end)
            pk.out = <unsigned char *>PyBytes_AS_STRING(ob)
            out[i] = ob
        rc = _sb_work_init(&w, kep, kap, kalen)
        if rc != NC_OK:
            _nc_raise(rc, "srtp_batch setup")
        with nogil:
            if protect:
                rc = _sb_protect_all(&p, &w, pkts, n)
            else:
                rc = _sb_unprotect_all(&p, &w, pkts, n)
            _sb_work_free(&w)
        if rc != NC_OK:
            _nc_raise(rc, "protect_batch" if protect else "unprotect_batch")
        if not protect:
            for i in range(n):
                if not pkts[i].ok:
                    out[i] = None
        return out
    finally:
        PyMem_Free(pkts)


# --- sender index accounting, fast path (RFC 3711 §3.3.1, Appendix A) --------------------------

def scan_rtp(packets, bint encrypt):
    """Well-formedness and SSRCs of a batch of RTP packets, for the sender's fast path.

    Returns ``(ssrcs, slots)``: the distinct SSRCs in order of first appearance and one byte
    per packet, the position of its SSRC in ``ssrcs``. Returns None when any packet is not an
    exact ``bytes``, is shorter than 12 bytes, is not RTP version 2, has a header (CSRCs,
    extension) running past its end, has an encrypted portion over 2^16 AES blocks (with
    ``encrypt``), or when the batch has more than 255 SSRCs: the caller's per-packet path then
    reports the typed error (or handles the batch).
    """
    cdef tuple pk_t = packets if type(packets) is tuple else tuple(packets)
    cdef Py_ssize_t n = len(pk_t)
    cdef Py_ssize_t i, plen, hl
    cdef int j, count = 0, last = -1
    cdef uint32_t ssrc
    cdef uint32_t table[SB_MAX_SCAN_SSRCS]
    cdef const unsigned char *b
    cdef object item
    cdef bytes slots = PyBytes_FromStringAndSize(NULL, n)
    cdef unsigned char *sl = <unsigned char *>PyBytes_AS_STRING(slots)
    for i in range(n):
        item = pk_t[i]
        if type(item) is not bytes:
            return None
        plen = PyBytes_GET_SIZE(item)
        b = <const unsigned char *>PyBytes_AS_STRING(item)
        if plen < SB_RTP_FIXED or b[0] >> 6 != 2:
            return None
        hl = _sb_header_len(b, <size_t>plen, <size_t>plen)
        if hl < 0 or (encrypt and <size_t>(plen - hl) > SB_MAX_PAYLOAD):
            return None
        ssrc = ((<uint32_t>b[8] << 24) | (<uint32_t>b[9] << 16) | (<uint32_t>b[10] << 8)
                | <uint32_t>b[11])
        if last >= 0 and table[last] == ssrc:
            j = last
        else:
            j = 0
            while j < count and table[j] != ssrc:
                j += 1
            if j == count:
                if count == SB_MAX_SCAN_SSRCS:
                    return None
                table[count] = ssrc
                count += 1
            last = j
        sl[i] = <unsigned char>j
    return tuple([table[j] for j in range(count)]), slots


def estimate_indices(packets, bytes slots, highest, base_roc):
    """The 48-bit index of every packet when each SSRC's indices strictly increase.

    ``slots`` comes from :func:`scan_rtp` (the same ``packets``); for SSRC slot ``j``,
    ``highest[j]`` is its highest index so far (-1: none yet, then ``base_roc[j]`` is its ROC).
    Each index is estimated from the SSRC's previous packet (RFC 3711 Appendix A), exactly as
    a per-packet loop that accepts every packet would. Returns ``(indices, spans)`` with
    ``spans[j] = (first, last, count)`` of slot ``j``'s indices (every slot of a
    :func:`scan_rtp` result has at least one packet), or None when an index falls
    outside 0..2^48-1 or does not exceed the SSRC's previous one (a replay, or packets out of
    order): the caller's per-packet path then decides.
    """
    cdef tuple pk_t = packets if type(packets) is tuple else tuple(packets)
    cdef Py_ssize_t n = len(pk_t)
    cdef Py_ssize_t nslots = len(highest)
    cdef Py_ssize_t i
    cdef int j
    cdef int64_t h, roc, v, s_l, seq, index
    cdef int64_t *run
    cdef int64_t *first
    cdef Py_ssize_t *counts
    cdef const unsigned char *b
    cdef const unsigned char *sl
    cdef object item
    cdef list out
    if PyBytes_GET_SIZE(slots) != n or len(base_roc) != nslots or nslots > SB_MAX_SCAN_SSRCS:
        raise ValueError("slots, highest and base_roc do not fit the packets")
    run = <int64_t *>PyMem_Malloc((2 * nslots + 1) * sizeof(int64_t))
    counts = <Py_ssize_t *>PyMem_Malloc((nslots + 1) * sizeof(Py_ssize_t))
    if run == NULL or counts == NULL:
        PyMem_Free(run)
        PyMem_Free(counts)
        raise MemoryError()
    first = run + nslots
    try:
        for j in range(nslots):
            h = highest[j]
            v = base_roc[j]
            if h < -1 or h >= <int64_t>SB_INDEX_LIMIT or v < 0 or v > 0xFFFFFFFF:
                raise ValueError(f"slot {j}: highest or base_roc out of range")
            # "no packet yet" is held as a virtual highest below the first index of that ROC
            run[j] = h if h >= 0 else -1 - v
            counts[j] = 0
            first[j] = 0
        out = [None] * n
        sl = <const unsigned char *>PyBytes_AS_STRING(slots)
        for i in range(n):
            item = pk_t[i]
            if type(item) is not bytes or PyBytes_GET_SIZE(item) < SB_RTP_FIXED:
                raise ValueError(f"packets[{i}] is not a scanned RTP packet")
            b = <const unsigned char *>PyBytes_AS_STRING(item)
            j = sl[i]
            if j >= nslots:
                raise ValueError(f"slots[{i}] = {j} is not a slot")
            seq = (<int64_t>b[2] << 8) | b[3]
            h = run[j]
            if h < 0:                   # first packet of the SSRC: ROC = base_roc
                index = ((-1 - h) << 16) | seq
            else:
                roc = h >> 16
                s_l = h & 0xFFFF
                if s_l < 32768:
                    v = roc - 1 if seq - s_l > 32768 else roc
                else:
                    v = roc + 1 if s_l - 32768 > seq else roc
                index = v * 65536 + seq
                if index <= h:
                    return None
            if index < 0 or index >= <int64_t>SB_INDEX_LIMIT:
                return None
            if counts[j] == 0:
                first[j] = index
            counts[j] += 1
            run[j] = index
            out[i] = index
        return out, [(first[j], run[j], counts[j]) for j in range(nslots)]
    finally:
        PyMem_Free(run)
        PyMem_Free(counts)


def protect_batch(k_e, k_s, k_a, mki, bint encrypt, int auth, Py_ssize_t tag_len,
                  long roc_rate, packets, indices):
    """RTP packets -> SRTP packets (header || payload || MKI || tag), one per packet.

    ``k_e`` (16 bytes; ignored, may be None, when ``encrypt`` is false), ``k_s`` (14 bytes) and
    ``k_a`` (1..64 bytes; ignored for AUTH_NULL / AUTH_RCCM3) are the SRTP session keys of ONE
    master key; ``mki`` its MKI (0..128 bytes); ``auth`` one of the AUTH_* modes with the
    policy's ``tag_len`` (incl. the ROC for RCC) and ROC rate R; ``indices[k]`` the 48-bit index
    of ``packets[k]`` (its low 16 bits must equal the packet's SEQ).
    """
    return _sb_run(k_e, k_s, k_a, mki, encrypt, auth, tag_len, roc_rate, packets, indices, True)


def unprotect_batch(k_e, k_s, k_a, mki, bint encrypt, int auth, Py_ssize_t tag_len,
                    long roc_rate, packets, indices):
    """SRTP packets of ONE master key -> RTP packets; None where the tag does not verify or
    the packet carries another MKI. Tags compare with CRYPTO_memcmp; nothing is decrypted for
    a packet that fails. RCCm3 / NULL authentication verify nothing (as the pure path)."""
    return _sb_run(k_e, k_s, k_a, mki, encrypt, auth, tag_len, roc_rate, packets, indices, False)
