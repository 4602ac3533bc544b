# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Batch MSK delivery messages on OpenSSL libcrypto — ``broadcast._native.mikey_batch``.

One MSK goes to many UEs (TS 33.246 6.3.2.3.1): every MSK message of a push round has the same
bytes except five per-UE fields — CSB ID, COUNTER, RAND, IDr (B-TID, variable length) — and its
protection, which depends on the UE's MUK. ``broadcast.proto.mikey.batch`` builds ONE reference
message with the pure-Python builder, cuts it into six template segments around those fields and
recovers the key-data plaintext; this module then builds every message as

    t0 · CSB ID(4) · t1 · TS value(4 or 8) · t2 · RAND · t3 · IDr len(2) · IDr · t4
       · KEMAC Encr data(encr_key, IV, key_data) · t5 · HMAC-SHA-1-160(auth_key, all before)

with, per UE, (encr_key, auth_key, salt_key) = PRF(MUK, const || 0xFF || CSB ID || RAND)
(RFC 3830 §4.1.4) and IV = kemac_iv(salt_key, CSB ID, COUNTER) (§4.2.3). The layout knowledge
stays in the Python reference; this module only knows where the per-UE fields go.

The profile's choices this loop depends on are arguments, not copies: the MUK length, the RAND
length, the TS type (COUNTER: a 4-byte value; NTP-UTC / NTP: 8 bytes, RFC 3830 §6.6), the KEMAC
Encr alg (AES-CM-128 or NULL) and MAC alg (HMAC-SHA-1-160). Left out (None), each is read from
``broadcast.profile`` at the call (``MUK_LEN``, ``RAND_LEN``, ``TS_TYPE_COUNTER``,
``KEMAC_ENCR_ALG``, ``KEMAC_MAC_ALG``); ``broadcast.proto.mikey.batch`` always passes them.

The whole loop runs with the GIL released, with one set of OpenSSL contexts re-keyed per UE
(no context is created per message). The output ``bytes`` objects are allocated before the loop
and written in place, so the only per-message Python objects are the results.

The C helpers come from ``native/_crypto_impl.pxi`` (see the docstring of native/crypto.pyx).
"""

from cpython.bytes cimport (
    PyBytes_AS_STRING,
    PyBytes_Check,
    PyBytes_FromStringAndSize,
    PyBytes_GET_SIZE,
)
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.number cimport PyNumber_Index
from cpython.pyport cimport PY_SSIZE_T_MAX

include "_crypto_impl.pxi"

from broadcast import profile as _profile

__all__ = ["TEMPLATE_SEGMENTS", "build_msk_batch"]

cdef enum:
    MB_SEGMENTS = 6
    MB_IDR_MAX = 0xFFFF        # ID payload length field is 16 bits
    MB_RAND_MAX = 0xFF         # RAND payload length field is 8 bits (RFC 3830 §6.11)
    # CSB ID, IDr len and MAC; the TS value and RAND lengths are arguments
    MB_PER_UE_FIXED = 4 + 2 + NC_SHA1_LEN
    # encr_key, auth_key, salt_key and the KEMAC IV of the message being built
    MB_SCRATCH = (NC_MSG_ENCR_KEY_LEN + NC_MSG_AUTH_KEY_LEN + NC_MSG_SALT_KEY_LEN
                  + NC_AES_CM_IV_LEN)
    # RFC 3830 code points: KEMAC Encr alg and MAC alg (§6.2), TS type (§6.6)
    MB_ENCR_NULL = 0
    MB_ENCR_AES_CM_128 = 1
    MB_MAC_HMAC_SHA1_160 = 1
    MB_TS_NTP_UTC = 0
    MB_TS_NTP = 1
    MB_TS_COUNTER = 2

#: Number of template segments ``build_msk_batch`` expects.
TEMPLATE_SEGMENTS = MB_SEGMENTS


cdef struct _mb_template:
    const unsigned char *seg[MB_SEGMENTS]
    size_t seglen[MB_SEGMENTS]
    const unsigned char *key_data
    size_t key_data_len
    size_t muk_len              # the MUK is one PRF inkey block: 1..32 bytes
    size_t rand_len
    size_t ts_len               # 4 (COUNTER) or 8 (NTP-UTC, NTP)
    int encr_alg                # MB_ENCR_NULL or MB_ENCR_AES_CM_128


cdef struct _mb_target:
    # Borrowed from bytes objects kept alive by tuples owned by build_msk_batch.
    const unsigned char *muk
    const unsigned char *rand
    const unsigned char *idr
    size_t idr_len
    uint32_t csb_id
    uint32_t counter
    unsigned char *out          # buffer of a result bytes object (allocated before the loop)


cdef struct _mb_work:
    # One set of contexts for the whole batch, re-keyed per UE.
    _nc_hmac_key muk            # inner/outer SHA-1 states of HMAC under the MUK
    _nc_prf_key prf             # a one-block PRF view of ``muk`` (blocks = &muk, work = md)
    EVP_MD_CTX *md              # scratch digest context
    EVP_CIPHER_CTX *cipher      # AES-128-CTR, re-keyed with EVP_EncryptInit_ex(ctx, NULL, ...)


cdef void _mb_work_free(_mb_work *w) noexcept nogil:
    _nc_hmac_key_free(&w.muk)   # EVP_MD_CTX_free wipes the SHA-1 states
    EVP_MD_CTX_free(w.md)
    EVP_CIPHER_CTX_free(w.cipher)
    w.md = NULL
    w.cipher = NULL


cdef int _mb_work_init(_mb_work *w) noexcept nogil:
    memset(w, 0, sizeof(_mb_work))
    w.muk.ictx = EVP_MD_CTX_new()
    w.muk.octx = EVP_MD_CTX_new()
    w.md = EVP_MD_CTX_new()
    w.cipher = EVP_CIPHER_CTX_new()
    if w.muk.ictx == NULL or w.muk.octx == NULL or w.md == NULL or w.cipher == NULL:
        _mb_work_free(w)
        return NC_ERR_NOMEM
    if EVP_EncryptInit_ex(w.cipher, _nc_aes128ctr, NULL, NULL, NULL) != 1:
        _mb_work_free(w)
        return NC_ERR_CIPHER
    w.prf.nblocks = 1
    w.prf.blocks = &w.muk
    w.prf.work = w.md
    return NC_OK


cdef int _mb_hmac_rekey(_nc_hmac_key *hk, const unsigned char *key,
                        size_t keylen) noexcept nogil:
    """Re-initialise existing inner/outer states for a key of at most 64 bytes."""
    cdef unsigned char pad[NC_SHA1_BLOCK]
    cdef int i
    cdef int ok
    for i in range(NC_SHA1_BLOCK):
        pad[i] = 0x36 ^ (key[i] if <size_t>i < keylen else 0)
    ok = (EVP_DigestInit_ex(hk.ictx, _nc_sha1, NULL) == 1
          and EVP_DigestUpdate(hk.ictx, pad, NC_SHA1_BLOCK) == 1)
    if ok:
        for i in range(NC_SHA1_BLOCK):
            pad[i] ^= 0x36 ^ 0x5C
        ok = (EVP_DigestInit_ex(hk.octx, _nc_sha1, NULL) == 1
              and EVP_DigestUpdate(hk.octx, pad, NC_SHA1_BLOCK) == 1)
    OPENSSL_cleanse(pad, NC_SHA1_BLOCK)
    return NC_OK if ok else NC_ERR_DIGEST


cdef int _mb_hmac_once(EVP_MD_CTX *md, const unsigned char *key, size_t keylen,
                       const unsigned char *data, size_t n,
                       unsigned char *out) noexcept nogil:
    """HMAC-SHA-1 under a key of at most 64 bytes used once: no state copies, reused ctx."""
    cdef unsigned char pad[NC_SHA1_BLOCK]
    cdef unsigned char inner[NC_SHA1_LEN]
    cdef unsigned int dl = 0
    cdef int i
    cdef int ok
    for i in range(NC_SHA1_BLOCK):
        pad[i] = 0x36 ^ (key[i] if <size_t>i < keylen else 0)
    ok = (EVP_DigestInit_ex(md, _nc_sha1, NULL) == 1
          and EVP_DigestUpdate(md, pad, NC_SHA1_BLOCK) == 1
          and EVP_DigestUpdate(md, data, n) == 1
          and EVP_DigestFinal_ex(md, inner, &dl) == 1)
    if ok:
        for i in range(NC_SHA1_BLOCK):
            pad[i] ^= 0x36 ^ 0x5C
        ok = (EVP_DigestInit_ex(md, _nc_sha1, NULL) == 1
              and EVP_DigestUpdate(md, pad, NC_SHA1_BLOCK) == 1
              and EVP_DigestUpdate(md, inner, NC_SHA1_LEN) == 1
              and EVP_DigestFinal_ex(md, out, &dl) == 1)
    OPENSSL_cleanse(pad, NC_SHA1_BLOCK)
    OPENSSL_cleanse(inner, NC_SHA1_LEN)
    return NC_OK if ok else NC_ERR_DIGEST


cdef inline unsigned char *_mb_put(unsigned char *p, const unsigned char *src,
                                   size_t n) noexcept nogil:
    if n > 0:
        memcpy(p, src, n)
    return p + n


cdef int _mb_build_one(_mb_work *w, const _mb_template *tp, const _mb_target *t,
                       unsigned char *scratch) noexcept nogil:
    """Assemble, encrypt and MAC one MSK message into ``t.out``.

    ``scratch`` (MB_SCRATCH bytes, wiped by the caller) holds encr_key (16) || auth_key (20) ||
    salt_key (14) || IV (16).
    """
    cdef unsigned char *p = t.out
    cdef unsigned char *encr
    cdef unsigned char *encr_key = scratch
    cdef unsigned char *auth_key = encr_key + NC_MSG_ENCR_KEY_LEN
    cdef unsigned char *salt_key = auth_key + NC_MSG_AUTH_KEY_LEN
    cdef unsigned char *iv = salt_key + NC_MSG_SALT_KEY_LEN
    cdef int outl = 0
    cdef int rc
    # 1. the public bytes
    p = _mb_put(p, tp.seg[0], tp.seglen[0])
    _nc_put_u32(p, t.csb_id)
    p = _mb_put(p + 4, tp.seg[1], tp.seglen[1])
    if tp.ts_len == 8:          # a 64-bit TS value: the 32-bit counter, zero-padded (§6.6)
        memset(p, 0, 4)
        p += 4
    _nc_put_u32(p, t.counter)
    p = _mb_put(p + 4, tp.seg[2], tp.seglen[2])
    p = _mb_put(p, t.rand, tp.rand_len)
    p = _mb_put(p, tp.seg[3], tp.seglen[3])
    p[0] = <unsigned char>(t.idr_len >> 8)
    p[1] = <unsigned char>t.idr_len
    p = _mb_put(p + 2, t.idr, t.idr_len)
    p = _mb_put(p, tp.seg[4], tp.seglen[4])
    encr = p
    p = _mb_put(p + tp.key_data_len, tp.seg[5], tp.seglen[5])
    # 2. message keys from the MUK (§4.1.4) and the KEMAC IV (§4.2.3)
    rc = _mb_hmac_rekey(&w.muk, t.muk, tp.muk_len)
    if rc != NC_OK:
        return rc
    rc = _nc_message_keys_keyed(&w.prf, t.csb_id, t.rand, tp.rand_len,
                                encr_key, auth_key, salt_key)
    if rc != NC_OK:
        return rc
    _nc_kemac_iv(salt_key, t.csb_id, t.counter, iv)
    # 3. KEMAC Encr data = AES-CM-128(encr_key, IV, key data) (CTR needs no final block), or
    #    the key data itself with Encr alg NULL
    if tp.encr_alg == MB_ENCR_NULL:
        memcpy(encr, tp.key_data, tp.key_data_len)
    elif (EVP_EncryptInit_ex(w.cipher, NULL, NULL, encr_key, iv) != 1
            or EVP_EncryptUpdate(w.cipher, encr, &outl, tp.key_data,
                                 <int>tp.key_data_len) != 1
            or <size_t>outl != tp.key_data_len):
        return NC_ERR_CIPHER
    # 4. KEMAC MAC = HMAC-SHA-1-160(auth_key, everything before the MAC)
    return _mb_hmac_once(w.md, auth_key, NC_MSG_AUTH_KEY_LEN, t.out, <size_t>(p - t.out), p)


cdef int _mb_build_all(const _mb_template *tp, const _mb_target *targets,
                       Py_ssize_t n) noexcept nogil:
    cdef _mb_work w
    cdef unsigned char scratch[MB_SCRATCH]
    cdef Py_ssize_t i
    cdef int rc = _mb_work_init(&w)
    if rc != NC_OK:
        return rc
    for i in range(n):
        rc = _mb_build_one(&w, tp, &targets[i], scratch)
        if rc != NC_OK:
            break
    OPENSSL_cleanse(scratch, MB_SCRATCH)
    _mb_work_free(&w)
    return rc


cdef int _mb_u32(object value, uint32_t lowest, str name, Py_ssize_t i,
                 uint32_t *out) except -1:
    """An integer in lowest..2^32-1 (not a float, not a str) -> ``out``; else ValueError."""
    cdef unsigned long long v
    value = PyNumber_Index(value)           # TypeError for non-integers
    try:
        v = value
    except OverflowError:
        raise ValueError(f"{name}[{i}] must be {lowest}..2^32-1") from None
    if v < lowest or v > 0xFFFF_FFFF:
        raise ValueError(f"{name}[{i}] must be {lowest}..2^32-1")
    out[0] = <uint32_t>v
    return 0


cdef size_t _mb_param(object value, object default, str name, size_t lo,
                      size_t hi) except? 0:
    """An int argument in lo..hi (``default`` when None) -> size_t; else ValueError."""
    cdef long long v
    value = PyNumber_Index(default if value is None else value)
    try:
        v = value
    except OverflowError:
        raise ValueError(f"{name} must be {lo}..{hi}") from None
    if v < <long long>lo or v > <long long>hi:
        raise ValueError(f"{name} must be {lo}..{hi}, got {v}")
    return <size_t>v


def build_msk_batch(template, key_data, muks, csb_ids, counters, rands, idrs, *,
                    muk_len=None, rand_len=None, ts_type=None, encr_alg=None, mac_alg=None):
    """Build and protect one MSK message per UE; returns a list of ``bytes``.

    ``template``: six ``bytes`` segments t0..t5 (see the module docstring); ``key_data``: the
    KEMAC plaintext, the same for every UE. The five per-UE sequences have equal lengths:
    ``muks`` ``muk_len``-byte ``bytes``, ``csb_ids`` 0..2^32-1, ``counters`` 1..2^32-1,
    ``rands`` ``rand_len``-byte ``bytes``, ``idrs`` 1..65535-byte ``bytes`` (the B-TID).

    The profile's choices (None: ``broadcast.profile`` at this call): ``muk_len`` 1..32
    (``MUK_LEN``), ``rand_len`` 1..255 (``RAND_LEN``), ``ts_type`` 0, 1 or 2 (``TS_TYPE_COUNTER``),
    ``encr_alg`` 0 NULL or 1 AES-CM-128 (``KEMAC_ENCR_ALG``), ``mac_alg`` 1 HMAC-SHA-1-160
    (``KEMAC_MAC_ALG``). Bad input raises ValueError or TypeError before any work is done; a
    libcrypto failure raises RuntimeError/MemoryError and no partial result is returned. The
    GIL is released for the whole crypto loop.
    """
    cdef _mb_template tp
    cdef _mb_target *targets = NULL
    cdef _mb_target *t
    cdef Py_ssize_t n, i, k, fixed
    cdef list result
    cdef bytes ob
    cdef int rc = NC_OK
    cdef size_t ts
    tp.muk_len = _mb_param(muk_len, _profile.MUK_LEN, "muk_len", 1, NC_PRF_INKEY_BLOCK)
    tp.rand_len = _mb_param(rand_len, _profile.RAND_LEN, "rand_len", 1, MB_RAND_MAX)
    ts = _mb_param(ts_type, _profile.TS_TYPE_COUNTER, "ts_type", MB_TS_NTP_UTC, MB_TS_COUNTER)
    tp.ts_len = 4 if ts == MB_TS_COUNTER else 8
    tp.encr_alg = <int>_mb_param(encr_alg, _profile.KEMAC_ENCR_ALG, "encr_alg",
                                 MB_ENCR_NULL, MB_ENCR_AES_CM_128)
    _mb_param(mac_alg, _profile.KEMAC_MAC_ALG, "mac_alg",
              MB_MAC_HMAC_SHA1_160, MB_MAC_HMAC_SHA1_160)
    # Own strong references to everything whose buffer is borrowed during the nogil loop
    # (tuple() of a tuple is the same object; a list is copied, so a concurrent mutation of
    # the caller's list cannot free a buffer under us). Only ``bytes`` (immutable) are borrowed.
    template = tuple(template)
    muks = tuple(muks)
    csb_ids = tuple(csb_ids)
    counters = tuple(counters)
    rands = tuple(rands)
    idrs = tuple(idrs)
    if len(template) != MB_SEGMENTS:
        raise ValueError(f"template must have {MB_SEGMENTS} segments")
    fixed = MB_PER_UE_FIXED + <Py_ssize_t>(tp.ts_len + tp.rand_len)
    for k in range(MB_SEGMENTS):
        tp.seg[k] = _nc_borrow_bytes(template[k], "template", k, 0, PY_SSIZE_T_MAX)
        tp.seglen[k] = <size_t>PyBytes_GET_SIZE(template[k])
        fixed += PyBytes_GET_SIZE(template[k])
    tp.key_data = _nc_borrow_bytes(key_data, "key_data", 0, 1, <Py_ssize_t>NC_AES_CM_MAX_BYTES)
    tp.key_data_len = <size_t>PyBytes_GET_SIZE(key_data)
    fixed += PyBytes_GET_SIZE(key_data)
    n = len(muks)
    if not (len(csb_ids) == len(counters) == len(rands) == len(idrs) == n):
        raise ValueError("muks, csb_ids, counters, rands and idrs must have equal lengths")
    result = [None] * n
    if n == 0:
        return result
    targets = <_mb_target *>PyMem_Malloc(<size_t>n * sizeof(_mb_target))
    if targets == NULL:
        raise MemoryError("build_msk_batch: out of memory")
    try:
        for i in range(n):
            t = &targets[i]
            t.muk = _nc_borrow_bytes(muks[i], "muks", i, <Py_ssize_t>tp.muk_len,
                                     <Py_ssize_t>tp.muk_len)
            t.rand = _nc_borrow_bytes(rands[i], "rands", i, <Py_ssize_t>tp.rand_len,
                                      <Py_ssize_t>tp.rand_len)
            t.idr = _nc_borrow_bytes(idrs[i], "idrs", i, 1, MB_IDR_MAX)
            t.idr_len = <size_t>PyBytes_GET_SIZE(idrs[i])
            _mb_u32(csb_ids[i], 0, "csb_ids", i, &t.csb_id)
            _mb_u32(counters[i], 1, "counters", i, &t.counter)
            ob = PyBytes_FromStringAndSize(NULL, fixed + <Py_ssize_t>t.idr_len)
            t.out = <unsigned char *>PyBytes_AS_STRING(ob)
            result[i] = ob
        with nogil:
            rc = _mb_build_all(&tp, targets, n)
    finally:
        PyMem_Free(targets)
    if rc != NC_OK:
        _nc_raise(rc, "build_msk_batch")
    return result
