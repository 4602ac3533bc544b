# C-level MIKEY crypto helpers (RFC 3830 §4.1.2-§4.1.4, §4.2.3-§4.2.4) on OpenSSL 3 EVP.
#
# This file is textually ``include``d by native/crypto.pyx and native/mikey_batch.pyx (and any
# later native module that needs the primitives):
#
#     include "_crypto_impl.pxi"
#
# Every including module gets its own private copy of these static C functions and its own
# fetched EVP_MD / EVP_CIPHER handles; nothing crosses a module boundary at run time, so there is
# no cross-extension cimport (a native/crypto.pxd would not be matched to the module name
# ``broadcast._native.crypto`` because the sources live outside the package tree).
#
# Conventions
# -----------
# * ``_nc_*`` helpers are ``noexcept nogil``; call them inside ``with nogil:``.
# * They return NC_OK (0) on success or a negative NC_ERR_* code; nothing is raised. Back under
#   the GIL, turn a failure into an exception with ``_nc_raise(rc, "what")`` (it drains the
#   OpenSSL error queue of this thread; key bytes never appear in messages).
# * Lengths are validated by the Python wrappers; the helpers trust their arguments (key
#   lengths are fixed by the function: AES-128 key = 16 bytes, IV = 16 bytes, salt = 14 bytes).
# * Temporary key material on the stack is wiped with OPENSSL_cleanse.

from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_Check, PyBytes_GET_SIZE

from openssl cimport *


cdef enum:
    NC_OK = 0
    NC_ERR_NOMEM = -1
    NC_ERR_DIGEST = -2
    NC_ERR_CIPHER = -3

    NC_SHA1_LEN = 20
    NC_SHA1_BLOCK = 64
    NC_PRF_INKEY_BLOCK = 32        # s_i blocks are 256 bits (RFC 3830 §4.1.2)
    NC_AES128_KEY_LEN = 16
    NC_AES_CM_IV_LEN = 16
    NC_SALT_LEN = 14               # 112-bit session salt
    NC_MSG_ENCR_KEY_LEN = 16       # AES-CM-128
    NC_MSG_AUTH_KEY_LEN = 20       # HMAC-SHA-1-160
    NC_MSG_SALT_KEY_LEN = 14
    NC_LABEL_STACK = 288           # labels up to this size are built on the stack

    # §4.1.4: constants of the keys protecting a MIKEY message.
    NC_MSG_ENCR_CONST = 0x150533E1
    NC_MSG_AUTH_CONST = 0x2D22AC75
    NC_MSG_SALT_CONST = 0x29B88916

# AES-CM may encrypt at most 2^23 bits under one IV (§4.2.3).
cdef size_t NC_AES_CM_MAX_BYTES = (1 << 23) // 8


# --- algorithm handles (fetched once per including module, read-only afterwards) --------------

cdef EVP_MD *_nc_sha1 = NULL
cdef EVP_CIPHER *_nc_aes128ctr = NULL


cdef int _nc_fetch_algorithms() except -1:
    """Explicit fetch: avoids OpenSSL 3's implicit per-init fetch of EVP_sha1()/EVP_aes_*()."""
    global _nc_sha1, _nc_aes128ctr
    if _nc_sha1 == NULL:
        _nc_sha1 = EVP_MD_fetch(NULL, b"SHA1", NULL)
    if _nc_aes128ctr == NULL:
        _nc_aes128ctr = EVP_CIPHER_fetch(NULL, b"AES-128-CTR", NULL)
    if _nc_sha1 == NULL or _nc_aes128ctr == NULL:
        _nc_raise(NC_ERR_DIGEST if _nc_sha1 == NULL else NC_ERR_CIPHER,
                  "fetching SHA1 / AES-128-CTR from the default provider")
    return 0


_nc_fetch_algorithms()


# --- errors (need the GIL) --------------------------------------------------------------------

cdef int _nc_raise(int rc, str what) except -1:
    """Raise for helper return code ``rc``; consumes this thread's OpenSSL error queue."""
    cdef unsigned long e = ERR_get_error()
    cdef char buf[256]
    detail = ""
    if e != 0:
        ERR_error_string_n(e, buf, sizeof(buf))
        detail = ": " + buf.decode("ascii", "replace")
    ERR_clear_error()
    if rc == NC_ERR_NOMEM and e == 0:
        raise MemoryError(f"{what}: out of memory")
    kind = {NC_ERR_DIGEST: "SHA-1/HMAC", NC_ERR_CIPHER: "AES-128-CTR"}.get(rc, "libcrypto")
    raise RuntimeError(f"OpenSSL {kind} operation failed in {what}{detail}")


cdef inline int _nc_get_buffer(object obj, Py_buffer *view) except -1:
    """Borrow a contiguous byte view of ``obj`` (bytes, bytearray, memoryview, ...)."""
    return PyObject_GetBuffer(obj, view, PyBUF_SIMPLE)


# --- HMAC-SHA-1 -------------------------------------------------------------------------------

cdef struct _nc_hmac_key:
    # SHA-1 states after absorbing (K ^ ipad) and (K ^ opad): the per-key precomputation, so an
    # HMAC costs two EVP_MD_CTX_copy_ex + the data blocks + two finals. Measured (OpenSSL 3.0,
    # 16-byte key, 29-byte message, x86-64): ~150 ns/HMAC, vs ~190 ns re-initialising one
    # EVP_MAC_CTX with EVP_MAC_init(ctx, NULL, 0, NULL), ~470-680 ns with EVP_MAC_CTX_dup per
    # call and ~850 ns for a fresh EVP_MAC_CTX per call.
    EVP_MD_CTX *ictx
    EVP_MD_CTX *octx


cdef void _nc_hmac_key_free(_nc_hmac_key *hk) noexcept nogil:
    EVP_MD_CTX_free(hk.ictx)        # NULL-safe
    EVP_MD_CTX_free(hk.octx)
    hk.ictx = NULL
    hk.octx = NULL


cdef int _nc_hmac_key_init(_nc_hmac_key *hk, const unsigned char *key,
                           size_t keylen) noexcept nogil:
    """Precompute the inner/outer SHA-1 states of HMAC under ``key``. Free with _free()."""
    cdef unsigned char k[NC_SHA1_BLOCK]
    cdef unsigned char pad[NC_SHA1_BLOCK]
    cdef unsigned int dl = 0
    cdef int i
    cdef int ok = 1
    hk.ictx = EVP_MD_CTX_new()
    hk.octx = EVP_MD_CTX_new()
    if hk.ictx == NULL or hk.octx == NULL:
        _nc_hmac_key_free(hk)
        return NC_ERR_NOMEM
    memset(k, 0, NC_SHA1_BLOCK)
    if keylen > NC_SHA1_BLOCK:
        ok = EVP_Digest(key, keylen, k, &dl, _nc_sha1, NULL) == 1
    elif keylen > 0:
        memcpy(k, key, keylen)
    if ok:
        for i in range(NC_SHA1_BLOCK):
            pad[i] = k[i] ^ 0x36
        ok = (EVP_DigestInit_ex(hk.ictx, _nc_sha1, NULL) == 1
              and EVP_DigestUpdate(hk.ictx, pad, NC_SHA1_BLOCK) == 1)
    if ok:
        for i in range(NC_SHA1_BLOCK):
            pad[i] = k[i] ^ 0x5C
        ok = (EVP_DigestInit_ex(hk.octx, _nc_sha1, NULL) == 1
              and EVP_DigestUpdate(hk.octx, pad, NC_SHA1_BLOCK) == 1)
    OPENSSL_cleanse(k, NC_SHA1_BLOCK)
    OPENSSL_cleanse(pad, NC_SHA1_BLOCK)
    if not ok:
        _nc_hmac_key_free(hk)
        return NC_ERR_DIGEST
    return NC_OK


cdef int _nc_hmac_keyed(const _nc_hmac_key *hk, EVP_MD_CTX *work,
                        const unsigned char *d1, size_t n1,
                        const unsigned char *d2, size_t n2,
                        unsigned char *out) noexcept nogil:
    """HMAC(key, d1 || d2) -> 20 bytes at ``out`` using a precomputed key and a scratch ctx.

    ``out`` may alias d1/d2 (inputs are fully absorbed before the output is written).
    """
    cdef unsigned char inner[NC_SHA1_LEN]
    cdef unsigned int dl = 0
    if EVP_MD_CTX_copy_ex(work, hk.ictx) != 1:
        return NC_ERR_DIGEST
    if n1 > 0 and EVP_DigestUpdate(work, d1, n1) != 1:
        return NC_ERR_DIGEST
    if n2 > 0 and EVP_DigestUpdate(work, d2, n2) != 1:
        return NC_ERR_DIGEST
    if EVP_DigestFinal_ex(work, inner, &dl) != 1:
        return NC_ERR_DIGEST
    if (EVP_MD_CTX_copy_ex(work, hk.octx) != 1
            or EVP_DigestUpdate(work, inner, NC_SHA1_LEN) != 1
            or EVP_DigestFinal_ex(work, out, &dl) != 1):
        return NC_ERR_DIGEST
    return NC_OK


cdef int _nc_hmac_sha1(const unsigned char *key, size_t keylen,
                       const unsigned char *data, size_t n,
                       unsigned char *out) noexcept nogil:
    """One-shot HMAC-SHA-1 (RFC 2104) -> 20 bytes at ``out``. Any key length.

    Uses a single digest context (no precomputed states): for one MAC under a key this is
    faster than _nc_hmac_key_init + _nc_hmac_keyed. ``out`` may alias ``data``.
    """
    cdef unsigned char k[NC_SHA1_BLOCK]
    cdef unsigned char pad[NC_SHA1_BLOCK]
    cdef unsigned char inner[NC_SHA1_LEN]
    cdef unsigned int dl = 0
    cdef int i
    cdef int ok = 1
    cdef EVP_MD_CTX *ctx = EVP_MD_CTX_new()
    if ctx == NULL:
        return NC_ERR_NOMEM
    memset(k, 0, NC_SHA1_BLOCK)
    if keylen > NC_SHA1_BLOCK:
        ok = EVP_Digest(key, keylen, k, &dl, _nc_sha1, NULL) == 1
    elif keylen > 0:
        memcpy(k, key, keylen)
    if ok:
        for i in range(NC_SHA1_BLOCK):
            pad[i] = k[i] ^ 0x36
        ok = (EVP_DigestInit_ex(ctx, _nc_sha1, NULL) == 1
              and EVP_DigestUpdate(ctx, pad, NC_SHA1_BLOCK) == 1
              and (n == 0 or EVP_DigestUpdate(ctx, data, n) == 1)
              and EVP_DigestFinal_ex(ctx, inner, &dl) == 1)
    if ok:
        for i in range(NC_SHA1_BLOCK):
            pad[i] = k[i] ^ 0x5C
        ok = (EVP_DigestInit_ex(ctx, _nc_sha1, NULL) == 1
              and EVP_DigestUpdate(ctx, pad, NC_SHA1_BLOCK) == 1
              and EVP_DigestUpdate(ctx, inner, NC_SHA1_LEN) == 1
              and EVP_DigestFinal_ex(ctx, out, &dl) == 1)
    EVP_MD_CTX_free(ctx)
    OPENSSL_cleanse(k, NC_SHA1_BLOCK)
    OPENSSL_cleanse(pad, NC_SHA1_BLOCK)
    OPENSSL_cleanse(inner, NC_SHA1_LEN)
    return NC_OK if ok else NC_ERR_DIGEST


# --- MIKEY-1 PRF (RFC 3830 §4.1.2) ------------------------------------------------------------

cdef struct _nc_prf_key:
    # inkey split into 256-bit blocks s_1..s_n (last may be shorter, an empty inkey is one empty
    # block), each with its precomputed HMAC key, plus one scratch digest context.
    size_t nblocks
    _nc_hmac_key *blocks
    EVP_MD_CTX *work


cdef void _nc_prf_key_free(_nc_prf_key *pk) noexcept nogil:
    cdef size_t i
    if pk.blocks != NULL:
        for i in range(pk.nblocks):
            _nc_hmac_key_free(&pk.blocks[i])
        free(pk.blocks)
    EVP_MD_CTX_free(pk.work)
    pk.blocks = NULL
    pk.work = NULL
    pk.nblocks = 0


cdef int _nc_prf_key_init(_nc_prf_key *pk, const unsigned char *inkey,
                          size_t inkeylen) noexcept nogil:
    """Precompute the PRF state for ``inkey`` (reusable for any number of labels)."""
    cdef size_t i, off, blen
    cdef int rc
    pk.nblocks = (inkeylen + NC_PRF_INKEY_BLOCK - 1) // NC_PRF_INKEY_BLOCK
    if pk.nblocks == 0:
        pk.nblocks = 1
    pk.work = EVP_MD_CTX_new()
    pk.blocks = <_nc_hmac_key *>malloc(pk.nblocks * sizeof(_nc_hmac_key))
    if pk.blocks != NULL:
        memset(pk.blocks, 0, pk.nblocks * sizeof(_nc_hmac_key))
    if pk.work == NULL or pk.blocks == NULL:
        _nc_prf_key_free(pk)
        return NC_ERR_NOMEM
    for i in range(pk.nblocks):
        off = i * NC_PRF_INKEY_BLOCK
        blen = inkeylen - off if inkeylen > off else 0
        if blen > NC_PRF_INKEY_BLOCK:
            blen = NC_PRF_INKEY_BLOCK
        rc = _nc_hmac_key_init(&pk.blocks[i], inkey + off if blen > 0 else inkey, blen)
        if rc != NC_OK:
            _nc_prf_key_free(pk)
            return rc
    return NC_OK


cdef int _nc_prf_keyed(_nc_prf_key *pk, const unsigned char *label, size_t labellen,
                       unsigned char *out, size_t outlen) noexcept nogil:
    """PRF(inkey, label) truncated to ``outlen`` (> 0) bytes, written to ``out``.

    out = XOR over s_i of P(s_i, label, m), m = ceil(outlen / 160 bits), where
    P(s, label, m) = HMAC(s, A_1 || label) || ... || HMAC(s, A_m || label),
    A_0 = label, A_j = HMAC(s, A_{j-1}).
    """
    cdef unsigned char a[NC_SHA1_LEN]
    cdef unsigned char h[NC_SHA1_LEN]
    cdef size_t m = (outlen + NC_SHA1_LEN - 1) // NC_SHA1_LEN
    cdef size_t b, j, k, off, take
    cdef int rc = NC_OK
    cdef _nc_hmac_key *hk
    memset(out, 0, outlen)
    for b in range(pk.nblocks):
        hk = &pk.blocks[b]
        for j in range(m):
            if j == 0:
                rc = _nc_hmac_keyed(hk, pk.work, label, labellen, NULL, 0, a)
            else:
                rc = _nc_hmac_keyed(hk, pk.work, a, NC_SHA1_LEN, NULL, 0, a)
            if rc != NC_OK:
                break
            rc = _nc_hmac_keyed(hk, pk.work, a, NC_SHA1_LEN, label, labellen, h)
            if rc != NC_OK:
                break
            off = j * NC_SHA1_LEN
            take = outlen - off
            if take > NC_SHA1_LEN:
                take = NC_SHA1_LEN
            for k in range(take):
                out[off + k] ^= h[k]
        if rc != NC_OK:
            break
    OPENSSL_cleanse(a, NC_SHA1_LEN)
    OPENSSL_cleanse(h, NC_SHA1_LEN)
    if rc != NC_OK:
        OPENSSL_cleanse(out, outlen)
    return rc


cdef int _nc_prf_into(const unsigned char *inkey, size_t inkeylen,
                      const unsigned char *label, size_t labellen,
                      unsigned char *out, size_t outlen) noexcept nogil:
    """One-shot PRF(inkey, label) -> ``outlen`` (> 0) bytes at ``out``."""
    cdef _nc_prf_key pk
    cdef int rc = _nc_prf_key_init(&pk, inkey, inkeylen)
    if rc != NC_OK:
        return rc
    rc = _nc_prf_keyed(&pk, label, labellen, out, outlen)
    _nc_prf_key_free(&pk)
    return rc


cdef inline void _nc_put_u32(unsigned char *p, uint32_t v) noexcept nogil:
    p[0] = <unsigned char>(v >> 24)
    p[1] = <unsigned char>(v >> 16)
    p[2] = <unsigned char>(v >> 8)
    p[3] = <unsigned char>v


cdef int _nc_message_keys_keyed(_nc_prf_key *pk, uint32_t csb_id,
                                const unsigned char *rand, size_t randlen,
                                unsigned char *encr_key, unsigned char *auth_key,
                                unsigned char *salt_key) noexcept nogil:
    """§4.1.4 keys of one MIKEY message from a precomputed PSK (MUK/MSK) PRF state.

    label = constant || 0xFF || CSB ID || RAND; writes encr 16, auth 20, salt 14 bytes.
    """
    cdef unsigned char stackbuf[NC_LABEL_STACK]
    cdef unsigned char *label = stackbuf
    cdef size_t labellen = 9 + randlen
    cdef int rc
    if labellen > NC_LABEL_STACK:
        label = <unsigned char *>malloc(labellen)
        if label == NULL:
            return NC_ERR_NOMEM
    label[4] = 0xFF
    _nc_put_u32(label + 5, csb_id)
    if randlen > 0:
        memcpy(label + 9, rand, randlen)
    _nc_put_u32(label, NC_MSG_ENCR_CONST)
    rc = _nc_prf_keyed(pk, label, labellen, encr_key, NC_MSG_ENCR_KEY_LEN)
    if rc == NC_OK:
        _nc_put_u32(label, NC_MSG_AUTH_CONST)
        rc = _nc_prf_keyed(pk, label, labellen, auth_key, NC_MSG_AUTH_KEY_LEN)
    if rc == NC_OK:
        _nc_put_u32(label, NC_MSG_SALT_CONST)
        rc = _nc_prf_keyed(pk, label, labellen, salt_key, NC_MSG_SALT_KEY_LEN)
    if label != stackbuf:
        free(label)
    return rc


cdef int _nc_message_keys_into(const unsigned char *inkey, size_t inkeylen, uint32_t csb_id,
                               const unsigned char *rand, size_t randlen,
                               unsigned char *encr_key, unsigned char *auth_key,
                               unsigned char *salt_key) noexcept nogil:
    """One-shot §4.1.4 message keys (the PSK's PRF state is built once for all three)."""
    cdef _nc_prf_key pk
    cdef int rc = _nc_prf_key_init(&pk, inkey, inkeylen)
    if rc != NC_OK:
        return rc
    rc = _nc_message_keys_keyed(&pk, csb_id, rand, randlen, encr_key, auth_key, salt_key)
    _nc_prf_key_free(&pk)
    return rc


# --- KEMAC transforms (§4.2.3, §4.2.4) --------------------------------------------------------

cdef void _nc_kemac_iv(const unsigned char *salt_key, uint64_t csb_id, uint64_t timestamp,
                       unsigned char *iv) noexcept nogil:
    """IV = (S XOR (0x0000 || CSB ID || T)) || 0x0000; S = 14-byte salt, T = 64-bit timestamp.

    ``csb_id`` must be < 2^48 (it occupies salt bytes 0..5; a 32-bit CSB ID leaves bytes 0..1).
    """
    cdef int i
    for i in range(6):
        iv[i] = salt_key[i] ^ <unsigned char>(csb_id >> (8 * (5 - i)))
    for i in range(8):
        iv[6 + i] = salt_key[6 + i] ^ <unsigned char>(timestamp >> (8 * (7 - i)))
    iv[14] = 0
    iv[15] = 0


cdef int _nc_aes_cm_into(const unsigned char *key, const unsigned char *iv,
                         const unsigned char *data, size_t n,
                         unsigned char *out) noexcept nogil:
    """AES-128 in counter mode (128-bit big-endian counter block starting at ``iv``).

    16-byte key and iv. ``out`` may equal ``data`` (in place) but must not partially overlap.
    """
    cdef EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new()
    cdef unsigned char tail[EVP_MAX_BLOCK_LENGTH]
    cdef size_t off = 0
    cdef int chunk, outl = 0
    cdef int ok
    if ctx == NULL:
        return NC_ERR_NOMEM
    ok = EVP_EncryptInit_ex2(ctx, _nc_aes128ctr, key, iv, NULL) == 1
    while ok and off < n:
        chunk = <int>(n - off) if n - off < (1 << 30) else (1 << 30)
        ok = EVP_EncryptUpdate(ctx, out + off, &outl, data + off, chunk) == 1 and outl == chunk
        off += <size_t>chunk
    if ok:
        ok = EVP_EncryptFinal_ex(ctx, tail, &outl) == 1 and outl == 0
    EVP_CIPHER_CTX_free(ctx)      # wipes the key schedule
    return NC_OK if ok else NC_ERR_CIPHER


cdef const unsigned char *_nc_borrow_bytes(object value, str name, Py_ssize_t i,
                                           Py_ssize_t lo, Py_ssize_t hi) except NULL:
    """Borrow the buffer of an immutable ``bytes`` of length lo..hi (GIL held).

    ``name`` (and ``[i]`` when ``i >= 0``) names the argument in the TypeError / ValueError.
    """
    cdef Py_ssize_t n
    if not PyBytes_Check(value):
        what = name if i < 0 else f"{name}[{i}]"
        raise TypeError(f"{what} must be bytes, not {type(value).__name__}")
    n = PyBytes_GET_SIZE(value)
    if n < lo or n > hi:
        what = name if i < 0 else f"{name}[{i}]"
        if lo == hi:
            raise ValueError(f"{what} must be {lo} bytes, got {n}")
        raise ValueError(f"{what} must be {lo}..{hi} bytes, got {n}")
    return <const unsigned char *>PyBytes_AS_STRING(value)
