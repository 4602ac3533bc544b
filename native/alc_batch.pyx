# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Batch ALC packetizing for Compact No-Code FEC — ``broadcast._native.alc_batch``.

Builds the ALC packets (RFC 5775 §4.1) of one source block or of one whole object in ONE call:

    packet = LCT header (with EXT_FTI / EXT_FDT / EXT_CENC as encoded by the caller)
             · FEC Payload ID (SBN 16 · ESI 16, RFC 5445 §3.2.1) · encoding symbol

Symbols are consecutive ``symbol_length`` slices of the block, the last one possibly short
(RFC 5445 §3.4.1); blocks follow the RFC 5052 §9.1 partition (A_large blocks first). The caller
passes two encoded headers of equal length: ``header`` for every packet and ``closing`` for the
very last packet of the object (B flag set, RFC 5651 §5.1; the same bytes when not closing).
The output is a list of ``bytes`` ready for ``DatagramOutput.send_batch``, byte-identical to
``broadcast.proto.flute.alc.packetize`` (tests/flute/test_flute_native_alc.py).

Each packet is allocated once (``PyBytes_FromStringAndSize(NULL, n)``) and filled with three
``memcpy``: no per-symbol Python slicing or concatenation.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.string cimport memcpy

__all__ = ["MAX_SYMBOLS", "PAYLOAD_ID_LENGTH", "build_block", "build_object"]

#: SBN and ESI are 16 bits (Compact No-Code, RFC 5445 §3.2.1).
MAX_SYMBOLS = 0x10000
PAYLOAD_ID_LENGTH = 4


cdef inline bytes _packet(
    const char* head, Py_ssize_t head_len, unsigned int sbn, unsigned int esi,
    const unsigned char* sym, Py_ssize_t sym_len,
):
    cdef bytes out = PyBytes_FromStringAndSize(NULL, head_len + 4 + sym_len)
    cdef char* p = PyBytes_AS_STRING(out)
    memcpy(p, head, head_len)
    p[head_len] = <char>((sbn >> 8) & 0xFF)
    p[head_len + 1] = <char>(sbn & 0xFF)
    p[head_len + 2] = <char>((esi >> 8) & 0xFF)
    p[head_len + 3] = <char>(esi & 0xFF)
    if sym_len:
        memcpy(p + head_len + 4, sym, sym_len)
    return out


cdef int _check_headers(bytes header, bytes closing) except -1:
    if header is None or closing is None:
        raise TypeError("header and closing must be bytes")
    if PyBytes_GET_SIZE(header) != PyBytes_GET_SIZE(closing):
        raise ValueError("header and closing header differ in length")
    if PyBytes_GET_SIZE(header) < 4:
        raise ValueError("an LCT header is at least 4 bytes")
    return 0


cdef void _emit_block(
    list out, bytes header, bytes closing, unsigned int sbn, unsigned int first_esi,
    const unsigned char* data, Py_ssize_t length, Py_ssize_t e, bint close_last,
):
    cdef const char* plain = PyBytes_AS_STRING(header)
    cdef const char* last = PyBytes_AS_STRING(closing)
    cdef Py_ssize_t head_len = PyBytes_GET_SIZE(header)
    cdef Py_ssize_t pos = 0
    cdef Py_ssize_t n
    cdef unsigned int esi = first_esi
    while pos < length:
        n = e if length - pos > e else length - pos
        if close_last and pos + n >= length:
            out.append(_packet(last, head_len, sbn, esi, data + pos, n))
        else:
            out.append(_packet(plain, head_len, sbn, esi, data + pos, n))
        pos += n
        esi += 1


def build_block(
    bytes header,
    bytes closing,
    unsigned int sbn,
    const unsigned char[::1] block,
    Py_ssize_t symbol_length,
    bint last_block=False,
    unsigned int first_esi=0,
):
    """The packets of one source block: symbols ESI ``first_esi``, ``first_esi`` + 1, …

    ``closing`` heads the block's last packet when ``last_block`` (the object's last block).
    """
    _check_headers(header, closing)
    cdef Py_ssize_t length = block.shape[0]
    if symbol_length <= 0 or symbol_length > 0xFFFF:
        raise ValueError("encoding symbol length must be 1..65535")
    if length == 0:
        raise ValueError("an empty block has no symbols")
    if sbn > 0xFFFF:
        raise ValueError("SBN is 16 bits")
    cdef Py_ssize_t count = (length + symbol_length - 1) // symbol_length
    if first_esi + count > MAX_SYMBOLS:
        raise ValueError("ESI is 16 bits")
    cdef list out = []
    _emit_block(out, header, closing, sbn, first_esi, &block[0], length, symbol_length, last_block)
    return out

