"""ctypes binding to Debian's libsrtp2 (package libsrtp2-1, 2.5) for interop tests.

Struct layouts follow libsrtp 2.5 ``srtp2/srtp.h``: ``srtp_crypto_policy_t``, ``srtp_ssrc_t``,
``srtp_master_key_t {key, mki_id, mki_size}`` and ``srtp_policy_t`` (``key`` NULL, ``keys`` /
``num_master_keys`` set, so every master key has an MKI). A session is one direction: outbound
with ``ssrc_any_outbound``, inbound with ``ssrc_any_inbound``. ``srtp_protect*_mki`` write the
trailer after the packet, so buffers get ``SRTP_MAX_TRAILER_LEN`` spare bytes.

A missing library raises ``OSError`` at load time: the interop tests fail, they never skip.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Final

LIB_PATH: Final = "/usr/lib/x86_64-linux-gnu/libsrtp2.so.1"
SRTP_MAX_TAG_LEN: Final = 16
SRTP_MAX_MKI_LEN: Final = 128
SRTP_MAX_TRAILER_LEN: Final = SRTP_MAX_TAG_LEN + SRTP_MAX_MKI_LEN

SSRC_ANY_INBOUND: Final = 2
SSRC_ANY_OUTBOUND: Final = 3

ERR_OK: Final = 0
ERR_AUTH_FAIL: Final = 7
ERR_REPLAY_FAIL: Final = 9
ERR_REPLAY_OLD: Final = 10
ERR_BAD_MKI: Final = 25


class SrtpCryptoPolicy(ctypes.Structure):
    _fields_ = (
        ("cipher_type", ctypes.c_uint32),
        ("cipher_key_len", ctypes.c_int),
        ("auth_type", ctypes.c_uint32),
        ("auth_key_len", ctypes.c_int),
        ("auth_tag_len", ctypes.c_int),
        ("sec_serv", ctypes.c_int),
    )


class SrtpSsrc(ctypes.Structure):
    _fields_ = (("type", ctypes.c_int), ("value", ctypes.c_uint))


class SrtpMasterKey(ctypes.Structure):
    _fields_ = (
        ("key", ctypes.POINTER(ctypes.c_ubyte)),
        ("mki_id", ctypes.POINTER(ctypes.c_ubyte)),
        ("mki_size", ctypes.c_uint),
    )


class SrtpPolicyT(ctypes.Structure):
    pass


SrtpPolicyT._fields_ = (
    ("ssrc", SrtpSsrc),
    ("rtp", SrtpCryptoPolicy),
    ("rtcp", SrtpCryptoPolicy),
    ("key", ctypes.POINTER(ctypes.c_ubyte)),
    ("keys", ctypes.POINTER(ctypes.POINTER(SrtpMasterKey))),
    ("num_master_keys", ctypes.c_ulong),
    ("deprecated_ekt", ctypes.c_void_p),
    ("window_size", ctypes.c_ulong),
    ("allow_repeat_tx", ctypes.c_int),
    ("enc_xtn_hdr", ctypes.POINTER(ctypes.c_int)),
    ("enc_xtn_hdr_count", ctypes.c_int),
    ("next", ctypes.POINTER(SrtpPolicyT)),
)


class LibSrtpError(Exception):
    def __init__(self, call: str, status: int) -> None:
        super().__init__(f"{call} failed with srtp_err_status {status}")
        self.status = status


_POLICY_SETTERS: Final = {
    # name -> (RTP setter, RTCP setter). The _80 setter is a macro for rtp_default.
    "aes_cm_128_hmac_sha1_80": (
        "srtp_crypto_policy_set_rtp_default",
        "srtp_crypto_policy_set_rtcp_default",
    ),
    "aes_cm_128_hmac_sha1_32": (
        "srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32",
        "srtp_crypto_policy_set_rtcp_default",
    ),
    "null_cipher_hmac_sha1_80": (
        "srtp_crypto_policy_set_null_cipher_hmac_sha1_80",
        "srtp_crypto_policy_set_null_cipher_hmac_sha1_80",
    ),
}


class LibSrtp2:
    """The loaded library (``srtp_init`` called once)."""

    def __init__(self, path: str = LIB_PATH) -> None:
        lib = ctypes.CDLL(path)
        self.lib = lib
        lib.srtp_init.restype = ctypes.c_int
        lib.srtp_create.argtypes = (ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(SrtpPolicyT))
        lib.srtp_create.restype = ctypes.c_int
        lib.srtp_dealloc.argtypes = (ctypes.c_void_p,)
        lib.srtp_dealloc.restype = ctypes.c_int
        for name in ("srtp_protect_mki", "srtp_protect_rtcp_mki"):
            fn = getattr(lib, name)
            fn.argtypes = (
                ctypes.c_void_p,
                ctypes.c_void_p,
                ctypes.POINTER(ctypes.c_int),
                ctypes.c_uint,
                ctypes.c_uint,
            )
            fn.restype = ctypes.c_int
        for name in ("srtp_unprotect_mki", "srtp_unprotect_rtcp_mki"):
            fn = getattr(lib, name)
            fn.argtypes = (
                ctypes.c_void_p,
                ctypes.c_void_p,
                ctypes.POINTER(ctypes.c_int),
                ctypes.c_uint,
            )
            fn.restype = ctypes.c_int
        for setters in _POLICY_SETTERS.values():
            for name in setters:
                getattr(lib, name).argtypes = (ctypes.POINTER(SrtpCryptoPolicy),)
                getattr(lib, name).restype = None
        lib.srtp_get_version_string.restype = ctypes.c_char_p
        status = lib.srtp_init()
        if status != ERR_OK:
            raise LibSrtpError("srtp_init", status)

    @property
    def version(self) -> str:
        raw = self.lib.srtp_get_version_string()
        return raw.decode() if raw else "?"

    def session(
        self,
        *,
        outbound: bool,
        keys: Sequence[tuple[bytes, bytes]],
        policy: str = "aes_cm_128_hmac_sha1_80",
    ) -> Session:
        return Session(self, outbound=outbound, keys=keys, policy=policy)


class Session:
    """One libsrtp2 session (``srtp_t``) holding master keys ``(key || salt, mki)``."""

    def __init__(
        self,
        lib: LibSrtp2,
        *,
        outbound: bool,
        keys: Sequence[tuple[bytes, bytes]],
        policy: str,
    ) -> None:
        self._lib = lib.lib
        rtp_setter, rtcp_setter = _POLICY_SETTERS[policy]
        pol = SrtpPolicyT()
        ctypes.memset(ctypes.byref(pol), 0, ctypes.sizeof(pol))
        pol.ssrc.type = SSRC_ANY_OUTBOUND if outbound else SSRC_ANY_INBOUND
        getattr(self._lib, rtp_setter)(ctypes.byref(pol.rtp))
        getattr(self._lib, rtcp_setter)(ctypes.byref(pol.rtcp))
        # Keep every buffer referenced for the session's lifetime.
        self._buffers: list[object] = []
        masters = (ctypes.POINTER(SrtpMasterKey) * len(keys))()
        for i, (key_salt, mki) in enumerate(keys):
            kbuf = (ctypes.c_ubyte * len(key_salt)).from_buffer_copy(key_salt)
            mbuf = (ctypes.c_ubyte * len(mki)).from_buffer_copy(mki)
            master = SrtpMasterKey(
                ctypes.cast(kbuf, ctypes.POINTER(ctypes.c_ubyte)),
                ctypes.cast(mbuf, ctypes.POINTER(ctypes.c_ubyte)),
                len(mki),
            )
            self._buffers += [kbuf, mbuf, master]
            masters[i] = ctypes.pointer(master)
        pol.keys = masters
        pol.num_master_keys = len(keys)
        pol.window_size = 128
        self._buffers += [masters, pol]
        self._ctx = ctypes.c_void_p()
        status = self._lib.srtp_create(ctypes.byref(self._ctx), ctypes.byref(pol))
        if status != ERR_OK:
            raise LibSrtpError("srtp_create", status)

    def _call(self, name: str, packet: bytes, *extra: int) -> bytes:
        buf = ctypes.create_string_buffer(packet, len(packet) + SRTP_MAX_TRAILER_LEN)
        length = ctypes.c_int(len(packet))
        status = getattr(self._lib, name)(self._ctx, buf, ctypes.byref(length), *extra)
        if status != ERR_OK:
            raise LibSrtpError(name, status)
        return buf.raw[: length.value]

    def protect(self, rtp: bytes, mki_index: int) -> bytes:
        return self._call("srtp_protect_mki", rtp, 1, mki_index)

    def unprotect(self, srtp: bytes) -> bytes:
        return self._call("srtp_unprotect_mki", srtp, 1)

    def protect_rtcp(self, rtcp: bytes, mki_index: int) -> bytes:
        return self._call("srtp_protect_rtcp_mki", rtcp, 1, mki_index)

    def unprotect_rtcp(self, srtcp: bytes) -> bytes:
        return self._call("srtp_unprotect_rtcp_mki", srtcp, 1)

    def close(self) -> None:
        if self._ctx:
            self._lib.srtp_dealloc(self._ctx)
            self._ctx = ctypes.c_void_p()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
