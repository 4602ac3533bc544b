# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Batch SRTP protect/unprotect on OpenSSL libcrypto — ``broadcast._native.srtp_batch``.

Byte-for-byte equivalent of the pure-Python per-packet transform in
``broadcast.srtp.transform`` (``protect_rtp`` / ``split_srtp`` + ``verify_rtp`` + ``decrypt_rtp``)
for the SRTP (not SRTCP) transforms of ``broadcast.srtp.policy``: AES-CM-128 or NULL cipher;
NULL, HMAC-SHA1 or the RFC 4771 RCCm1/RCCm2/RCCm3 authentication. One call handles many packets
under ONE set of session keys (k_e 16, k_s 14, k_a) and ONE MKI; the caller supplies each
packet's 48-bit index i = 2^16·ROC + SEQ (the index/ROC/replay accounting stays in Python,
``broadcast.srtp.batch``).

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
one set of precomputed HMAC inner/outer states. The output ``bytes`` are allocated before the
loop and written in place: the only per-packet Python objects are the results.

Errors: bad arguments or a malformed packet -> TypeError / ValueError naming the packet (the
typed ``SrtpError`` checks are done by the Python wrapper before calling in); a libcrypto
failure -> RuntimeError. The C helpers come from ``native/_crypto_impl.pxi``.
"""

from cpython.bytes cimport (
    PyBytes_AS_STRING,
    PyBytes_Check,
    PyBytes_FromStringAndSize,
    PyBytes_GET_SIZE,
)
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.string cimport memcmp

include "_crypto_impl.pxi"

__all__ = [
    "AUTH_HMAC_SHA1",
    "AUTH_NULL",
    "AUTH_RCCM1",
    "AUTH_RCCM2",
    "AUTH_RCCM3",
    "MAX_PAYLOAD",
    "protect_batch",
    "unprotect_batch",
]

cdef enum:
    # Authentication modes (same numbers as broadcast.srtp.policy.Auth / RFC 3830, RFC 4771).
    SB_AUTH_NULL = 0
    SB_AUTH_HMAC = 1
    SB_AUTH_RCCM1 = 2
    SB_AUTH_RCCM2 = 3
    SB_AUTH_RCCM3 = 4

    SB_RTP_FIXED = 12
    SB_ROC_LEN = 4
    SB_MAX_TAG = SB_ROC_LEN + NC_SHA1_LEN
    SB_MAX_MKI = 128

AUTH_NULL = SB_AUTH_NULL
AUTH_HMAC_SHA1 = SB_AUTH_HMAC
AUTH_RCCM1 = SB_AUTH_RCCM1
AUTH_RCCM2 = SB_AUTH_RCCM2
AUTH_RCCM3 = SB_AUTH_RCCM3
#: AES-CM produces at most 2^16 blocks under one SRTP IV (RFC 3711 §4.1.1).
MAX_PAYLOAD = 16 << 16
cdef size_t SB_MAX_PAYLOAD = 16 << 16
cdef uint64_t SB_INDEX_LIMIT = (<uint64_t>1) << 48


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
    EVP_MD_CTX *md
    _nc_hmac_key hk
    int has_hk


cdef void _sb_work_free(_sb_work *w) noexcept nogil:
    EVP_CIPHER_CTX_free(w.cipher)   # wipes the key schedule
    EVP_MD_CTX_free(w.md)
    if w.has_hk:
        _nc_hmac_key_free(&w.hk)
    w.cipher = NULL
    w.md = NULL
    w.has_hk = 0


cdef int _sb_work_init(_sb_work *w, const unsigned char *k_e, const unsigned char *k_a,
                       size_t k_a_len) noexcept nogil:
    cdef int rc
    memset(w, 0, sizeof(_sb_work))
    w.cipher = EVP_CIPHER_CTX_new()
    w.md = EVP_MD_CTX_new()
    if w.cipher == NULL or w.md == NULL:
        _sb_work_free(w)
        return NC_ERR_NOMEM
    if k_e != NULL and EVP_EncryptInit_ex2(w.cipher, _nc_aes128ctr, k_e, NULL, NULL) != 1:
        _sb_work_free(w)
        return NC_ERR_CIPHER
    if k_a != NULL:
        rc = _nc_hmac_key_init(&w.hk, k_a, k_a_len)
        if rc != NC_OK:
            _sb_work_free(w)
            return rc
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
    """dst[hl:portion] = AES-CM(src[hl:portion]) (or a copy under the NULL cipher)."""
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


cdef int _sb_tag(_sb_work *w, const _sb_params *p, const unsigned char *portion, size_t plen,
                 uint64_t index, size_t tag_len, unsigned char *tag) noexcept nogil:
    """transform/auth.srtp_tag for a packet whose tag is ``tag_len`` (> 0) bytes."""
    cdef unsigned char roc[SB_ROC_LEN]
    cdef unsigned char mac[NC_SHA1_LEN]
    cdef uint32_t seq = <uint32_t>(index & 0xFFFF)
    cdef int carries = _sb_carries_roc(p, seq)
    cdef int rc
    _nc_put_u32(roc, <uint32_t>(index >> 16))
    if p.auth == SB_AUTH_RCCM3:
        memcpy(tag, roc, SB_ROC_LEN)
        return NC_OK
    rc = _nc_hmac_keyed(&w.hk, w.md, portion, plen, roc, SB_ROC_LEN, mac)
    if rc != NC_OK:
        return rc
    if carries:
        memcpy(tag, roc, SB_ROC_LEN)
        memcpy(tag + SB_ROC_LEN, mac, tag_len - SB_ROC_LEN)
    else:
        memcpy(tag, mac, tag_len)
    return NC_OK


cdef int _sb_protect_all(const _sb_params *p, _sb_work *w, _sb_pkt *pkts,
                         Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef int rc = NC_OK
    cdef _sb_pkt *pk
    cdef unsigned char *q
    for i in range(n):
        pk = &pkts[i]
        memcpy(pk.out, pk.inp, pk.hl)
        rc = _sb_crypt(w, p, pk, pk.inp, pk.out)
        if rc != NC_OK:
            break
        q = pk.out + pk.portion
        if p.mki_len > 0:
            memcpy(q, p.mki, p.mki_len)
        if pk.tag_len > 0:
            rc = _sb_tag(w, p, pk.out, pk.portion, pk.index, pk.tag_len, q + p.mki_len)
            if rc != NC_OK:
                break
    return rc


cdef int _sb_unprotect_all(const _sb_params *p, _sb_work *w, _sb_pkt *pkts,
                           Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef int rc = NC_OK
    cdef _sb_pkt *pk
    cdef unsigned char expected[SB_MAX_TAG]
    for i in range(n):
        pk = &pkts[i]
        if not pk.ok:               # MKI of another key: left as None
            continue
        if pk.tag_len > 0 and p.auth != SB_AUTH_RCCM3:
            rc = _sb_tag(w, p, pk.inp, pk.portion, pk.index, pk.tag_len, expected)
            if rc != NC_OK:
                break
            if CRYPTO_memcmp(expected, pk.inp + pk.portion + p.mki_len, pk.tag_len) != 0:
                pk.ok = 0
                continue
        memcpy(pk.out, pk.inp, pk.hl)
        rc = _sb_crypt(w, p, pk, pk.inp, pk.out)
        if rc != NC_OK:
            break
    OPENSSL_cleanse(expected, SB_MAX_TAG)
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
