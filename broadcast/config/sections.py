"""The tables that several configuration files share, each read by one function: the same keys,
types, defaults and errors wherever the table appears (:mod:`broadcast.config.reader` rules:
unknown keys refused, relative paths relative to the configuration file's directory).

``[keys]`` — the key store and the Key Domain (``mbms serve``, ``stream``, ``carousel``)
    ``store`` (path): the SQLite file of the key store (the BM-SC's file: key store + BM-SC
    tables); required where the service uses keys.
    ``mcc`` / ``mnc`` (strings of 3 / 2-3 digits): Key Domain ID = MCC || MNC (TS 33.246 6.3.2.1;
    strings: leading zeros matter); both or neither. Or ``key_domain`` (6 hex digits): the Key
    Domain ID itself — one form only. Neither: MCC 001, MNC 01 (the test PLMN,
    ``profile.DEFAULT_MCC`` / ``DEFAULT_MNC``).
    ``key_group`` (integer 0..65535): the Key Group the service uses (``stream``, ``carousel``).
    The same three Key Domain keys name the Key Domain of an MSK in the UE's ``[[msk]]``.

``[srtp]`` — the SRTP policy (``mbms stream``, ``mbms receive``; ``[key_group.srtp]`` of
``mbms serve``), :class:`~broadcast.proto.srtp.settings.SrtpConfig`; tags in bits
    ``cipher`` ("aes-cm-128" | "null", "aes-cm-128").
    ``auth_tag`` (80 | 32 | "null", 80): SRTP authentication tag bits ("null": none).
    ``rcc`` ("RCCm1" | "RCCm2" | "RCCm3" | "off", "RCCm2"): RFC 4771 ROC-carrying mode.
    ``roc_rate`` (integer 1..65535, 16): R, a ROC every R packets.

``[destination]`` — where a session is sent (``mbms stream``, ``mbms carousel``)
    ``address`` (IPv4 address, required): the session's (multicast) destination address.
    ``port`` (integer 1..65535, required): its UDP port.

``[output]`` — how datagrams leave (SGi-mb, TS 29.061 clause 20; ``mbms stream``,
``mbms carousel``), :class:`~broadcast.config.output.OutputConfig`
    ``ttl`` (integer 0..255, 1): IP multicast TTL (also the TTL of GTP-U inner packets and the SDP
    ``c=`` TTL).
    ``interface`` (string, none): outgoing multicast interface, a name or one of its IPv4
    addresses.
    ``source`` (IPv4 address, none): local address to send from (the source a gateway or an SSM
    filter sees).
    ``source_port`` (integer 0..65535, 0): local UDP port (0: any).
    ``multicast_loop`` (boolean, true): also deliver multicast to listeners on this host.
    ``gso`` (boolean, true): UDP GSO for runs of equal-size datagrams (falls back by itself).
    ``native`` (boolean, true): the native batched send path when it is built.
    ``send_timeout`` (seconds, 0.05): how long a blocked send may wait for socket buffer space.
    ``sndbuf`` (integer, 0 = system default): SO_SNDBUF bytes.
    ``[output.gtpu]`` (table, none): send every datagram as a GTP-U G-PDU (TS 29.281):
    ``endpoint`` (IPv4 address, required), ``port`` (2152), ``teid`` (0..2^32-1, required),
    ``sequence_numbers`` (boolean, false).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from broadcast import profile
from broadcast.config.output import SEND_TIMEOUT_S, GtpuConfig, OutputConfig
from broadcast.config.reader import REQUIRED, Required, Table
from broadcast.proto.errors import ConfigError
from broadcast.proto.keys.errors import InvalidIdentifier
from broadcast.proto.keys.ids import KeyDomainId
from broadcast.proto.net.gtpu import GTPU_PORT, MAX_TEID
from broadcast.proto.srtp.settings import CIPHERS, RCC_CHOICES, SrtpConfig

#: The Key Domain of a configuration that names none (the test PLMN).
DEFAULT_KEY_DOMAIN: Final = KeyDomainId.from_plmn(profile.DEFAULT_MCC, profile.DEFAULT_MNC)


def key_domain(t: Table) -> KeyDomainId:
    """``mcc`` and ``mnc``, or ``key_domain`` (hex) — one form; neither: the test PLMN."""
    t.known("mcc", "mnc", "key_domain")
    plmn = [k for k in ("mcc", "mnc") if t.has(k)]
    if t.has("key_domain"):
        if plmn:
            raise t.error(
                "the Key Domain is given twice: use mcc and mnc, or key_domain (hex), not both",
                "key_domain",
            )
        text = t.text("key_domain", REQUIRED)
        try:
            return KeyDomainId.from_hex(text)
        except InvalidIdentifier as exc:
            raise t.error(f"must be 6 hex digits, MCC || MNC ({exc})", "key_domain") from None
    if not plmn:
        return DEFAULT_KEY_DOMAIN
    if len(plmn) == 1:
        missing = "mnc" if plmn == ["mcc"] else "mcc"
        raise t.error("is missing: mcc and mnc go together", missing)
    for k in plmn:
        if not isinstance(t.data[k], str):
            raise t.error(
                f'must be a string of digits (mcc = "001", mnc = "01"): leading zeros matter '
                f"(got {type(t.data[k]).__name__} {t.data[k]!r})",
                k,
            )
    try:
        return KeyDomainId.from_plmn(t.text("mcc", REQUIRED), t.text("mnc", REQUIRED))
    except InvalidIdentifier as exc:
        raise t.error(f"mcc / mnc: {exc}") from None


def keys_section(
    t: Table, *, store: Path | Required | None = REQUIRED
) -> tuple[Path | None, KeyDomainId]:
    """``[keys]`` -> (store path, Key Domain); ``store``: the path's default (REQUIRED: it must
    be given; a relative default is taken from the file's directory). The caller reads its own
    further keys of the table (:func:`key_group`, ...) and calls ``t.done()``."""
    path: Path | None
    if store is None:
        path = t.path("store")
    elif isinstance(store, Path):
        path = t.path("store", t.resolve(str(store)))
    else:
        path = t.path("store", REQUIRED)
    return path, key_domain(t)


def key_group(t: Table, default: int | Required) -> int:
    """``key_group`` of ``[keys]``: 0..65535 (the 16 high bits of the MSK ID)."""
    return t.integer("key_group", default, 0, 0xFFFF)


def srtp_section(t: Table) -> SrtpConfig:
    """``[srtp]`` (or ``[key_group.srtp]``) -> :class:`SrtpConfig`; checks the combination."""
    t.known("auth_tag")
    tag: int | None = profile.SRTP_DEFAULT_AUTH_TAG_BITS
    if t.has("auth_tag"):
        raw = t.data["auth_tag"]
        if raw == "null":
            tag = None
        elif isinstance(raw, int) and not isinstance(raw, bool) and raw in (80, 32):
            tag = raw
        else:
            shown = f'"{raw}"' if isinstance(raw, str) else repr(raw)
            raise t.error(f'must be 80, 32 or "null" (got {shown})', "auth_tag")
    try:
        cfg = SrtpConfig(
            cipher=t.choice("cipher", CIPHERS, profile.SRTP_DEFAULT_CIPHER),
            auth_tag=tag,
            rcc=t.choice("rcc", RCC_CHOICES, profile.RCC_DEFAULT_MODE),
            roc_rate=t.integer("roc_rate", profile.RCC_DEFAULT_RATE, 1, 0xFFFF),
        )
    except ConfigError as exc:
        raise exc.located(file=t.file, table=t.name, item=t.item) from None
    t.done()
    return cfg


def destination_section(t: Table) -> tuple[str, int]:
    """``[destination]`` -> (address, port). The caller reads its own further keys (the
    stream's ``mikey_port``) and calls ``t.done()``."""
    return t.address("address", REQUIRED), t.integer("port", REQUIRED, 1, 0xFFFF)


def output_section(t: Table) -> OutputConfig:
    """``[output]`` (and ``[output.gtpu]``) -> :class:`OutputConfig` (keys in the module doc)."""
    gtpu = None
    g = t.table("gtpu")
    if g is not None:
        gtpu = GtpuConfig(
            endpoint=g.address("endpoint", REQUIRED),
            teid=g.integer("teid", REQUIRED, 0, MAX_TEID),
            port=g.integer("port", GTPU_PORT, 1, 0xFFFF),
            sequence_numbers=g.flag("sequence_numbers", False),
        )
        g.done()
    cfg = OutputConfig(
        ttl=t.integer("ttl", profile.OUTPUT_MULTICAST_TTL, 0, 255),
        interface=t.text("interface"),
        source=t.address("source"),
        source_port=t.integer("source_port", 0, 0, 0xFFFF),
        multicast_loop=t.flag("multicast_loop", True),
        gtpu=gtpu,
        gso=t.flag("gso", True),
        native=t.flag("native", True),
        send_timeout=t.number("send_timeout", SEND_TIMEOUT_S, 0.0, 60.0, above=True),
        sndbuf=t.integer("sndbuf", 0, 0, 1 << 30),
    )
    t.done()
    return cfg


__all__ = [
    "DEFAULT_KEY_DOMAIN",
    "destination_section",
    "key_domain",
    "key_group",
    "keys_section",
    "output_section",
    "srtp_section",
]
