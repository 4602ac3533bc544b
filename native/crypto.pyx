# cython: language_level=3, boundscheck=False, wraparound=False
"""MIKEY crypto primitives on OpenSSL 3 libcrypto (EVP API) — ``broadcast._native.crypto``.

Byte-for-byte equivalent of the pure-Python reference in ``broadcast.proto.mikey.prf`` (MIKEY-1 PRF,
RFC 3830 §4.1.2; message keys, §4.1.4) and ``broadcast.proto.mikey.transforms`` (AES-CM-128 and
HMAC-SHA-1-160, §4.2.3/§4.2.4; KEMAC IV); tests/native/test_native_crypto.py checks this.

How the C-level helpers are shared
----------------------------------
All C code lives in ``native/_crypto_impl.pxi`` (``_nc_*`` functions, ``noexcept nogil``,
returning NC_OK / NC_ERR_*). This module and ``native/mikey_batch.pyx`` both do

    include "_crypto_impl.pxi"

so each extension gets its own static copy. This is deliberately *not* a cross-module
``cimport``: the sources sit in native/ while the modules are ``broadcast._native.*``, so a
``native/crypto.pxd`` would not be matched to ``broadcast._native.crypto`` reliably, and a
C-API capsule would add a run-time coupling for a few hundred lines of code. The libcrypto
declarations themselves are in ``native/openssl.pxd`` (``from openssl cimport *``; found
through include-dirs ["native"]).

All functions accept any contiguous bytes-like object for byte arguments and release the GIL
while OpenSSL runs. Errors: wrong lengths -> ValueError; out-of-range integers ->
OverflowError (as the reference's ``int.to_bytes``); a libcrypto failure -> RuntimeError (the
message names the operation, never key bytes).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.number cimport PyNumber_Index

include "_crypto_impl.pxi"

__all__ = ["aes_cm", "hmac_sha1", "kemac_iv", "message_keys", "prf"]

#: Lengths (bytes) of the §4.1.4 message keys for AES-CM-128 / HMAC-SHA-1-160.
ENCR_KEY_LEN = NC_MSG_ENCR_KEY_LEN
AUTH_KEY_LEN = NC_MSG_AUTH_KEY_LEN
SALT_KEY_LEN = NC_MSG_SALT_KEY_LEN
MAC_LEN = NC_SHA1_LEN
#: AES-CM may encrypt at most 2^23 bits under one IV (§4.2.3).
AES_CM_MAX_BYTES = NC_AES_CM_MAX_BYTES


def hmac_sha1(key, data):
    """HMAC-SHA-1-160(key, data) -> 20 bytes (RFC 2104; any key length)."""
    cdef Py_buffer kb, db
    cdef bytes out = PyBytes_FromStringAndSize(NULL, NC_SHA1_LEN)
    cdef unsigned char *op = <unsigned char *>PyBytes_AS_STRING(out)
    cdef int rc
    _nc_get_buffer(key, &kb)
    try:
        _nc_get_buffer(data, &db)
        try:
            with nogil:
                rc = _nc_hmac_sha1(<const unsigned char *>kb.buf, <size_t>kb.len,
                                   <const unsigned char *>db.buf, <size_t>db.len, op)
        finally:
            PyBuffer_Release(&db)
    finally:
        PyBuffer_Release(&kb)
    if rc != NC_OK:
        _nc_raise(rc, "hmac_sha1")
    return out


def prf(inkey, label, Py_ssize_t outkey_len):
    """MIKEY-1 PRF(inkey, label) truncated to ``outkey_len`` bytes (RFC 3830 §4.1.2).

    The inkey is split into 256-bit blocks whose P-function outputs are XORed.
    """
    cdef Py_buffer kb, lb
    cdef bytes out
    cdef unsigned char *op
    cdef int rc
    if outkey_len <= 0:
        raise ValueError("outkey_len must be positive")
    out = PyBytes_FromStringAndSize(NULL, outkey_len)
    op = <unsigned char *>PyBytes_AS_STRING(out)
    _nc_get_buffer(inkey, &kb)
    try:
        _nc_get_buffer(label, &lb)
        try:
            with nogil:
                rc = _nc_prf_into(<const unsigned char *>kb.buf, <size_t>kb.len,
                                  <const unsigned char *>lb.buf, <size_t>lb.len,
                                  op, <size_t>outkey_len)
        finally:
            PyBuffer_Release(&lb)
    finally:
        PyBuffer_Release(&kb)
    if rc != NC_OK:
        _nc_raise(rc, "prf")
    return out


def message_keys(inkey, csb_id, rand):
    """(encr_key 16, auth_key 20, salt_key 14) of a PSK MIKEY message (RFC 3830 §4.1.4).

    ``inkey`` is the PSK (MUK or MSK); label = constant || 0xFF || CSB ID || RAND.
    """
    cdef Py_buffer kb, rb
    cdef bytes encr = PyBytes_FromStringAndSize(NULL, NC_MSG_ENCR_KEY_LEN)
    cdef bytes auth = PyBytes_FromStringAndSize(NULL, NC_MSG_AUTH_KEY_LEN)
    cdef bytes salt = PyBytes_FromStringAndSize(NULL, NC_MSG_SALT_KEY_LEN)
    cdef unsigned char *ep = <unsigned char *>PyBytes_AS_STRING(encr)
    cdef unsigned char *ap = <unsigned char *>PyBytes_AS_STRING(auth)
    cdef unsigned char *sp = <unsigned char *>PyBytes_AS_STRING(salt)
    cdef int rc
    # PyNumber_Index: integers only (a float would otherwise be truncated silently);
    # out of range -> OverflowError, as int.to_bytes(4) in the reference.
    cdef uint32_t cid = PyNumber_Index(csb_id)
    _nc_get_buffer(inkey, &kb)
    try:
        _nc_get_buffer(rand, &rb)
        try:
            with nogil:
                rc = _nc_message_keys_into(<const unsigned char *>kb.buf, <size_t>kb.len,
                                           cid, <const unsigned char *>rb.buf,
                                           <size_t>rb.len, ep, ap, sp)
        finally:
            PyBuffer_Release(&rb)
    finally:
        PyBuffer_Release(&kb)
    if rc != NC_OK:
        _nc_raise(rc, "message_keys")
    return (encr, auth, salt)


def aes_cm(key, iv, data):
    """AES-CM-128 (SRTP counter mode): 16-byte key, 16-byte initial counter block ``iv``."""
    cdef Py_buffer kb, ib, db
    cdef bytes out
    cdef unsigned char *op
    cdef int rc = NC_OK
    _nc_get_buffer(key, &kb)
    try:
        _nc_get_buffer(iv, &ib)
        try:
            _nc_get_buffer(data, &db)
            try:
                if kb.len != NC_AES128_KEY_LEN:
                    raise ValueError("aes_cm: key must be 16 bytes (AES-CM-128)")
                if ib.len != NC_AES_CM_IV_LEN:
                    raise ValueError("aes_cm: iv must be 16 bytes")
                if <size_t>db.len > NC_AES_CM_MAX_BYTES:
                    raise ValueError("AES-CM data exceeds 2^23 bits")
                out = PyBytes_FromStringAndSize(NULL, db.len)
                op = <unsigned char *>PyBytes_AS_STRING(out)
                if db.len > 0:
                    with nogil:
                        rc = _nc_aes_cm_into(<const unsigned char *>kb.buf,
                                             <const unsigned char *>ib.buf,
                                             <const unsigned char *>db.buf, <size_t>db.len,
                                             op)
            finally:
                PyBuffer_Release(&db)
        finally:
            PyBuffer_Release(&ib)
    finally:
        PyBuffer_Release(&kb)
    if rc != NC_OK:
        _nc_raise(rc, "aes_cm")
    return out


def kemac_iv(salt_key, csb_id, timestamp):
    """IV = (S XOR (0x0000 || CSB ID || T)) || 0x0000 (S 112-bit salt, T 64-bit timestamp).

    Like the reference, the timestamp is reduced mod 2^64 and CSB ID must fit the 112-bit salt
    above T (0 <= csb_id < 2^48), otherwise OverflowError.
    """
    cdef Py_buffer sb
    cdef uint64_t t = PyNumber_Index(timestamp) & 0xFFFF_FFFF_FFFF_FFFF
    cdef uint64_t c
    cdef bytes out
    csb_id = PyNumber_Index(csb_id)
    if csb_id < 0 or csb_id >= (1 << 48):
        raise OverflowError("csb_id does not fit the 112-bit KEMAC IV")
    c = csb_id
    _nc_get_buffer(salt_key, &sb)
    try:
        if sb.len != NC_SALT_LEN:
            raise ValueError("salt_key must be 112 bits")
        out = PyBytes_FromStringAndSize(NULL, NC_AES_CM_IV_LEN)
        _nc_kemac_iv(<const unsigned char *>sb.buf, c, t,
                     <unsigned char *>PyBytes_AS_STRING(out))
    finally:
        PyBuffer_Release(&sb)
    return out
