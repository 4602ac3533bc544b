"""A small, strict SDP model, writer and parser (RFC 8866, formerly RFC 4566), with the views an
MBMS UE needs: protected streaming media (``RTP/SAVP``, RFC 3711 §12) and FLUTE sessions
(TS 26.346: ``m=application <port> FLUTE/UDP 0``, ``a=flute-tsi``, ``a=source-filter`` of
RFC 4570, ``a=FEC-declaration``/``a=FEC``).

The parser reads ``<type>=<value>`` lines (CRLF or LF), session level first, then one section per
``m=`` line. It is bounded (document size, line length, lines, media, attributes) and rejects
what it does not understand with a typed :class:`~broadcast.proto.announce.errors.SdpError` that
names the line type and the byte offset of the line: RFC 8866 §5 says a parser must ignore a whole
session description with an unknown type letter, and a receiver that binds sockets from it must
not guess. Addresses in ``c=`` lines must be IP literals (the UE binds and joins them). Leniency
where writers differ in practice: ``o=``, ``s=`` and ``t=`` are optional, a TTL on a unicast
IPv4 address is accepted, and a multicast IPv4 address without a TTL too.

The writer emits lines in RFC 8866 order with CRLF and validates every value it writes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from broadcast import profile
from broadcast.proto.announce.errors import SdpEncodeError, SdpError, SdpLimitExceeded, excerpt

#: Network and address types of ``c=``/``o=`` lines (RFC 8866 §5.7).
NETTYPE_IN: Final = "IN"
ADDRTYPES: Final = ("IP4", "IP6")

#: Line types allowed at session level (RFC 8866 §5; order is not enforced: writers differ).
_SESSION_TYPES: Final = frozenset("vosiuepcbtrzka")
_SESSION_EXTRA: Final = frozenset("iuepbzk")
_MEDIA_EXTRA: Final = frozenset("ibk")
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
_ATTR_NAME = _TOKEN
_UINT = re.compile(r"[0-9]{1,20}")
_FORBIDDEN = re.compile(r"[\x00\r\n]")
_VISIBLE = re.compile(r"[^\s\x00-\x1f\x7f]+")


@dataclass(frozen=True, slots=True)
class SdpLimits:
    """Bounds on one session description (all inclusive)."""

    max_bytes: int = 64 * 1024
    max_line_bytes: int = 4096
    max_lines: int = 2048
    max_media: int = 64
    max_attributes: int = 256  # per section (session level, or one media section)


DEFAULT_LIMITS: Final = SdpLimits()


# --- model --------------------------------------------------------------------------------------


def _check_text(value: str, what: str) -> str:
    if not isinstance(value, str) or _FORBIDDEN.search(value):
        raise SdpEncodeError(f"{what} must be text without NUL, CR or LF", field=what)
    return value


def _check_token(value: str, what: str) -> str:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise SdpEncodeError(
            f"{what} must be a non-empty token, got {excerpt(str(value))}", field=what
        )
    return value


@dataclass(frozen=True, slots=True)
class Origin:
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>``."""

    username: str = "-"
    session_id: int = 0
    session_version: int = 0
    nettype: str = NETTYPE_IN
    addrtype: str = "IP4"
    address: str = "127.0.0.1"

    def __post_init__(self) -> None:
        for n, what in ((self.session_id, "sess-id"), (self.session_version, "sess-version")):
            if not isinstance(n, int) or not 0 <= n < 10**20:
                raise SdpEncodeError(f"o= {what} must be 0..10^20-1", field="o")
        for v in (self.username, self.nettype, self.addrtype, self.address):
            if not isinstance(v, str) or not _VISIBLE.fullmatch(v):
                raise SdpEncodeError(f"o= field is not visible text: {excerpt(str(v))}", field="o")

    def to_text(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"{self.nettype} {self.addrtype} {self.address}"
        )


@dataclass(frozen=True, slots=True)
class Connection:
    """``c=IN IP4 <address>[/<ttl>[/<count>]]`` or ``c=IN IP6 <address>[/<count>]``.

    ``address`` is an IP literal. ``ttl`` is only meaningful for IPv4 multicast (RFC 8866 §5.7).
    """

    address: str
    ttl: int | None = None
    count: int | None = None
    addrtype: str = "IP4"
    nettype: str = NETTYPE_IN

    def __post_init__(self) -> None:
        if self.nettype != NETTYPE_IN:
            raise SdpEncodeError(
                f"c= network type must be IN, got {excerpt(self.nettype)}", field="c"
            )
        if self.addrtype not in ADDRTYPES:
            raise SdpEncodeError(
                f"c= address type must be IP4 or IP6, got {excerpt(self.addrtype)}", field="c"
            )
        ip = _ip_literal(self.address, self.addrtype)
        if ip is None:
            raise SdpEncodeError(
                f"c= address must be an {self.addrtype} literal, got {excerpt(self.address)}",
                field="c",
            )
        if self.ttl is not None and (self.addrtype != "IP4" or not 0 <= self.ttl <= 255):
            raise SdpEncodeError("c= TTL is 0..255 and only for IPv4", field="c")
        if self.count is not None and not 1 <= self.count <= 255:
            raise SdpEncodeError("c= number of addresses must be 1..255", field="c")

    @property
    def is_multicast(self) -> bool:
        return ipaddress.ip_address(self.address).is_multicast

    def to_text(self) -> str:
        text = f"{self.nettype} {self.addrtype} {self.address}"
        if self.ttl is not None:
            text += f"/{self.ttl}"
        if self.count is not None:
            if self.addrtype == "IP4" and self.ttl is None:
                raise SdpEncodeError("an IPv4 address count needs a TTL before it", field="c")
            text += f"/{self.count}"
        return text


@dataclass(frozen=True, slots=True)
class Attribute:
    """``a=<name>`` (property) or ``a=<name>:<value>``."""

    name: str
    value: str | None = None

    def __post_init__(self) -> None:
        _check_token(self.name, "a")
        if self.value is not None:
            _check_text(self.value, "a")

    def to_text(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


@dataclass(frozen=True, slots=True)
class Timing:
    """``t=<start> <stop>`` (NTP seconds, 0 = unbounded) with its ``r=`` lines."""

    start: int = 0
    stop: int = 0
    repeats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for v in (self.start, self.stop):
            if not isinstance(v, int) or not 0 <= v < 10**20:
                raise SdpEncodeError("t= times must be 0..10^20-1", field="t")
        for r in self.repeats:
            _check_text(r, "r")


class _Attributes:
    """Lookup helpers shared by the session and media levels."""

    __slots__ = ()

    attributes: tuple[Attribute, ...]

    def attribute(self, name: str) -> str | None:
        """Value of the first ``a=<name>`` (``""`` for a property attribute), or None."""
        for a in self.attributes:
            if a.name == name:
                return "" if a.value is None else a.value
        return None

    def attribute_values(self, name: str) -> tuple[str, ...]:
        return tuple("" if a.value is None else a.value for a in self.attributes if a.name == name)


@dataclass(frozen=True, slots=True)
class Media(_Attributes):
    """One media description: ``m=<media> <port>[/<n>] <proto> <fmt> ...`` and its lines."""

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    port_count: int | None = None
    connection: Connection | None = None
    attributes: tuple[Attribute, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()  # i=, b=, k= lines, in order

    def __post_init__(self) -> None:
        _check_token(self.media, "m")
        if not isinstance(self.port, int) or not 0 <= self.port <= 0xFFFF:
            raise SdpEncodeError("m= port must be 0..65535", field="m")
        if self.port_count is not None and not 1 <= self.port_count <= 0xFFFF:
            raise SdpEncodeError("m= number of ports must be 1..65535", field="m")
        if not isinstance(self.proto, str) or not all(
            _TOKEN.fullmatch(p) for p in self.proto.split("/")
        ):
            raise SdpEncodeError(
                f"m= proto is not a token list: {excerpt(str(self.proto))}", field="m"
            )
        if not self.formats:
            raise SdpEncodeError("m= needs at least one format", field="m")
        for f in self.formats:
            _check_token(f, "m")
        _check_extra(self.extra, _MEDIA_EXTRA)

    def to_lines(self) -> list[str]:
        port = f"{self.port}" if self.port_count is None else f"{self.port}/{self.port_count}"
        lines = [f"m={self.media} {port} {self.proto} {' '.join(self.formats)}"]
        lines += [f"i={v}" for t, v in self.extra if t == "i"]
        if self.connection is not None:
            lines.append(f"c={self.connection.to_text()}")
        lines += [f"{t}={v}" for t, v in self.extra if t in "bk"]
        lines += [f"a={a.to_text()}" for a in self.attributes]
        return lines


def _check_extra(extra: tuple[tuple[str, str], ...], allowed: frozenset[str]) -> None:
    for t, v in extra:
        if t not in allowed:
            raise SdpEncodeError(f"line type {t!r} not allowed here", field=t)
        _check_text(v, t)


@dataclass(frozen=True, slots=True)
class SessionDescription(_Attributes):
    """A whole session description (RFC 8866 §5)."""

    session_name: str = "-"
    origin: Origin | None = field(default_factory=Origin)
    connection: Connection | None = None
    timing: tuple[Timing, ...] = (Timing(),)
    attributes: tuple[Attribute, ...] = ()
    media: tuple[Media, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()  # i=, u=, e=, p=, b=, z=, k= lines, in order
    version: int = 0

    def __post_init__(self) -> None:
        if self.version != 0:
            raise SdpEncodeError("v= must be 0", field="v")
        _check_text(self.session_name, "s")
        _check_extra(self.extra, _SESSION_EXTRA)

    def to_text(self) -> str:
        """The description with CRLF line ends (RFC 8866 §5)."""
        lines = [f"v={self.version}"]
        if self.origin is not None:
            lines.append(f"o={self.origin.to_text()}")
        lines.append(f"s={self.session_name or ' '}")
        lines += [f"{t}={v}" for t, v in self.extra if t in "iuep"]
        if self.connection is not None:
            lines.append(f"c={self.connection.to_text()}")
        lines += [f"{t}={v}" for t, v in self.extra if t == "b"]
        for t in self.timing:
            lines.append(f"t={t.start} {t.stop}")
            lines += [f"r={r}" for r in t.repeats]
        lines += [f"{t}={v}" for t, v in self.extra if t in "zk"]
        lines += [f"a={a.to_text()}" for a in self.attributes]
        for m in self.media:
            lines += m.to_lines()
        return "\r\n".join(lines) + "\r\n"

    def to_bytes(self) -> bytes:
        return self.to_text().encode("utf-8")

    def connection_for(self, media: Media) -> Connection | None:
        """The media's ``c=`` line, else the session's (RFC 8866 §5.7)."""
        return media.connection if media.connection is not None else self.connection


# --- parser -------------------------------------------------------------------------------------


def _ip_literal(text: str, addrtype: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    want = 4 if addrtype == "IP4" else 6
    return ip if ip.version == want else None


class _Line:
    __slots__ = ("kind", "number", "offset", "value")

    def __init__(self, kind: str, value: str, number: int, offset: int) -> None:
        self.kind = kind
        self.value = value
        self.number = number
        self.offset = offset

    def fail(self, message: str) -> SdpError:
        return SdpError(f"line {self.number}: {message}", field=self.kind, offset=self.offset)


def _split_lines(data: bytes, limits: SdpLimits) -> list[_Line]:
    if len(data) > limits.max_bytes:
        raise SdpLimitExceeded(
            f"session description of {len(data)} bytes exceeds {limits.max_bytes}",
            field="document",
            offset=limits.max_bytes,
        )
    lines: list[_Line] = []
    offset = 0
    number = 0
    for piece in data.split(b"\n"):
        start = offset
        offset += len(piece) + 1
        number += 1
        raw = piece[:-1] if piece.endswith(b"\r") else piece
        if not raw:
            if offset >= len(data):  # the final line end, or trailing empty lines
                continue
            raise SdpError(f"line {number}: empty line", field="document", offset=start)
        if len(raw) > limits.max_line_bytes:
            raise SdpLimitExceeded(
                f"line {number} is longer than {limits.max_line_bytes} bytes",
                field="document",
                offset=start,
            )
        if len(lines) >= limits.max_lines:
            raise SdpLimitExceeded(
                f"more than {limits.max_lines} lines", field="document", offset=start
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SdpError(
                f"line {number} is not UTF-8", field="document", offset=start + exc.start
            ) from None
        if len(text) < 2 or text[1] != "=" or not ("a" <= text[0] <= "z"):
            raise SdpError(
                f"line {number} is not <type>=<value>: {excerpt(text)}",
                field="document",
                offset=start,
            )
        if "\r" in text[2:] or "\x00" in text:
            raise SdpError(f"line {number} holds a CR or NUL", field=text[0], offset=start)
        lines.append(_Line(text[0], text[2:], number, start))
    if not lines:
        raise SdpError("empty session description", field="document", offset=0)
    return lines


def _uint(text: str, line: _Line, what: str, maximum: int) -> int:
    if not _UINT.fullmatch(text):
        raise line.fail(f"{what} is not an unsigned integer: {excerpt(text)}")
    value = int(text)
    if value > maximum:
        raise line.fail(f"{what} {value} exceeds {maximum}")
    return value


def _parse_origin(line: _Line) -> Origin:
    parts = line.value.split(" ")
    if len(parts) != 6:
        raise line.fail("o= needs 6 fields")
    user, sid, sver, nettype, addrtype, addr = parts
    try:
        return Origin(
            user,
            _uint(sid, line, "sess-id", 10**20 - 1),
            _uint(sver, line, "sess-version", 10**20 - 1),
            nettype,
            addrtype,
            addr,
        )
    except SdpEncodeError as exc:
        raise line.fail(exc.detail) from None


def _parse_connection(line: _Line) -> Connection:
    parts = line.value.split(" ")
    if len(parts) != 3:
        raise line.fail("c= needs <nettype> <addrtype> <address>")
    nettype, addrtype, addr = parts
    if nettype != NETTYPE_IN:
        raise line.fail(f"network type must be IN, got {excerpt(nettype)}")
    if addrtype not in ADDRTYPES:
        raise line.fail(f"address type must be IP4 or IP6, got {excerpt(addrtype)}")
    host, *rest = addr.split("/")
    if len(rest) > (2 if addrtype == "IP4" else 1):
        raise line.fail("too many /-suffixes on the address")
    ip = _ip_literal(host, addrtype)
    if ip is None:
        raise line.fail(f"address must be an {addrtype} literal, got {excerpt(host)}")
    ttl = count = None
    if addrtype == "IP4":
        if rest:
            ttl = _uint(rest[0], line, "TTL", 255)
        if len(rest) > 1:
            count = _uint(rest[1], line, "number of addresses", 255)
    elif rest:
        count = _uint(rest[0], line, "number of addresses", 255)
    if count is not None and (count < 1 or not ip.is_multicast):
        raise line.fail("a number of addresses needs a multicast address and is at least 1")
    return Connection(str(ip), ttl, count, addrtype)


def _parse_attribute(line: _Line) -> Attribute:
    name, sep, value = line.value.partition(":")
    if not _ATTR_NAME.fullmatch(name):
        raise line.fail(f"attribute name is not a token: {excerpt(name)}")
    return Attribute(name, value if sep else None)


def _parse_media_line(line: _Line) -> tuple[str, int, int | None, str, tuple[str, ...]]:
    parts = line.value.split(" ")
    if len(parts) < 4 or any(not p for p in parts):
        raise line.fail("m= needs <media> <port> <proto> <fmt> ...")
    media, port_text, proto, *formats = parts
    if not _TOKEN.fullmatch(media):
        raise line.fail(f"media type is not a token: {excerpt(media)}")
    port_s, sep, count_s = port_text.partition("/")
    port = _uint(port_s, line, "port", 0xFFFF)
    count = _uint(count_s, line, "number of ports", 0xFFFF) if sep else None
    if count == 0:
        raise line.fail("number of ports must be at least 1")
    if not all(_TOKEN.fullmatch(p) for p in proto.split("/")):
        raise line.fail(f"proto is not a token list: {excerpt(proto)}")
    for f in formats:
        if not _TOKEN.fullmatch(f):
            raise line.fail(f"format is not a token: {excerpt(f)}")
    return media, port, count, proto, tuple(formats)


def _parse_timing(line: _Line) -> Timing:
    parts = line.value.split(" ")
    if len(parts) != 2:
        raise line.fail("t= needs <start> <stop>")
    return Timing(
        _uint(parts[0], line, "start", 10**20 - 1), _uint(parts[1], line, "stop", 10**20 - 1)
    )


class _MediaBuilder:
    def __init__(self, line: _Line) -> None:
        self.line = line
        self.head = _parse_media_line(line)
        self.connection: Connection | None = None
        self.attributes: list[Attribute] = []
        self.extra: list[tuple[str, str]] = []

    def build(self) -> Media:
        media, port, count, proto, formats = self.head
        return Media(
            media,
            port,
            proto,
            formats,
            count,
            self.connection,
            tuple(self.attributes),
            tuple(self.extra),
        )


def parse_sdp(data: bytes | str, limits: SdpLimits = DEFAULT_LIMITS) -> SessionDescription:
    """Parse a session description; raise :class:`SdpError` (or a subclass) on anything else."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    lines = _split_lines(raw, limits)
    first = lines[0]
    if first.kind != "v":
        raise SdpError("a session description starts with v=", field="v", offset=0)
    if first.value != "0":
        raise first.fail(f"unsupported SDP version {excerpt(first.value)}")
    origin: Origin | None = None
    name: str | None = None
    connection: Connection | None = None
    timing: list[Timing] = []
    attributes: list[Attribute] = []
    extra: list[tuple[str, str]] = []
    media: list[_MediaBuilder] = []
    for line in lines[1:]:
        kind = line.kind
        if kind == "v":
            raise line.fail("a second v= line")
        if kind == "m":
            if len(media) >= limits.max_media:
                raise SdpLimitExceeded(
                    f"more than {limits.max_media} media descriptions",
                    field="m",
                    offset=line.offset,
                )
            media.append(_MediaBuilder(line))
            continue
        if media:
            _media_line(media[-1], line, limits)
            continue
        if kind not in _SESSION_TYPES:
            raise line.fail(f"line type {kind!r} is not allowed at session level")
        if kind == "o":
            if origin is not None:
                raise line.fail("a second o= line")
            origin = _parse_origin(line)
        elif kind == "s":
            if name is not None:
                raise line.fail("a second s= line")
            if not line.value:
                raise line.fail("s= must not be empty")
            name = line.value
        elif kind == "c":
            if connection is not None:
                raise line.fail("a second session-level c= line")
            connection = _parse_connection(line)
        elif kind == "t":
            timing.append(_parse_timing(line))
        elif kind == "r":
            if not timing:
                raise line.fail("r= without a t= line")
            t = timing[-1]
            timing[-1] = Timing(t.start, t.stop, (*t.repeats, line.value))
        elif kind == "a":
            if len(attributes) >= limits.max_attributes:
                raise SdpLimitExceeded(
                    f"more than {limits.max_attributes} session attributes",
                    field="a",
                    offset=line.offset,
                )
            attributes.append(_parse_attribute(line))
        else:
            extra.append((kind, line.value))
    return SessionDescription(
        session_name=name if name is not None else "-",
        origin=origin,
        connection=connection,
        timing=tuple(timing) or (Timing(),),
        attributes=tuple(attributes),
        media=tuple(m.build() for m in media),
        extra=tuple(extra),
    )


def _media_line(builder: _MediaBuilder, line: _Line, limits: SdpLimits) -> None:
    kind = line.kind
    if kind == "c":
        if builder.connection is not None:
            raise line.fail("a second c= line in one media description")
        builder.connection = _parse_connection(line)
    elif kind == "a":
        if len(builder.attributes) >= limits.max_attributes:
            raise SdpLimitExceeded(
                f"more than {limits.max_attributes} attributes in one media description",
                field="a",
                offset=line.offset,
            )
        builder.attributes.append(_parse_attribute(line))
    elif kind in _MEDIA_EXTRA:
        builder.extra.append((kind, line.value))
    else:
        raise line.fail(f"line type {kind!r} is not allowed in a media description")


# --- MBMS views ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RtpMap:
    """``a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]``."""

    payload_type: int
    encoding: str
    clock_rate: int
    parameters: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.payload_type, int) or not 0 <= self.payload_type <= 127:
            raise SdpEncodeError("RTP payload type must be 0..127", field="a=rtpmap")
        _check_token(self.encoding, "a=rtpmap")
        if not isinstance(self.clock_rate, int) or not 0 < self.clock_rate < 1 << 32:
            raise SdpEncodeError("rtpmap clock rate must be 1..2^32-1", field="a=rtpmap")
        if self.parameters is not None:
            _check_text(self.parameters, "a=rtpmap")

    def to_text(self) -> str:
        text = f"{self.payload_type} {self.encoding}/{self.clock_rate}"
        return text if self.parameters is None else f"{text}/{self.parameters}"


@dataclass(frozen=True, slots=True)
class SrtpStream:
    """One protected RTP media line (``RTP/SAVP``): where its packets, SRTCP and the MTK
    messages (UDP 2269 at the same destination, TS 33.246 6.3.3.2.2) arrive."""

    media: str
    address: str
    port: int
    rtcp_port: int
    ttl: int | None
    payload_types: tuple[int, ...]
    rtpmaps: tuple[RtpMap, ...] = ()

    @property
    def is_multicast(self) -> bool:
        return ipaddress.ip_address(self.address).is_multicast


@dataclass(frozen=True, slots=True)
class FecDeclaration:
    """``a=FEC-declaration:<ref> encoding-id=<id>[; instance-id=<id>]`` (TS 26.346)."""

    reference: int
    encoding_id: int
    instance_id: int | None = None

    def to_text(self) -> str:
        text = f"{self.reference} encoding-id={self.encoding_id}"
        return text if self.instance_id is None else f"{text}; instance-id={self.instance_id}"


@dataclass(frozen=True, slots=True)
class SourceFilter:
    """``a=source-filter: <incl|excl> IN <IP4|IP6> <dest> <src> ...`` (RFC 4570 §3)."""

    mode: str
    addrtype: str
    destination: str
    sources: tuple[str, ...]

    def to_text(self) -> str:
        return f" {self.mode} IN {self.addrtype} {self.destination} {' '.join(self.sources)}"


@dataclass(frozen=True, slots=True)
class FluteSession:
    """One FLUTE channel description (TS 26.346 FLUTE SDP; RFC 3926)."""

    address: str
    port: int
    tsi: int
    ttl: int | None = None
    source_filter: SourceFilter | None = None
    fec: FecDeclaration | None = None
    channels: int = 1

    @property
    def source(self) -> str | None:
        """The sender address an ``incl`` source filter names, if any."""
        sf = self.source_filter
        return sf.sources[0] if sf is not None and sf.mode == "incl" and sf.sources else None


def _fail(sd_what: str, message: str) -> SdpError:
    return SdpError(message, field=sd_what)


def parse_rtpmap(value: str) -> RtpMap:
    pt_text, sep, rest = value.partition(" ")
    parts = rest.split("/")
    if not sep or len(parts) not in (2, 3) or not _UINT.fullmatch(pt_text):
        raise _fail("a=rtpmap", f"rtpmap is not <pt> <name>/<rate>: {excerpt(value)}")
    pt = int(pt_text)
    if pt > 127 or not _TOKEN.fullmatch(parts[0]) or not _UINT.fullmatch(parts[1]):
        raise _fail("a=rtpmap", f"bad rtpmap {excerpt(value)}")
    rate = int(parts[1])
    if not 0 < rate < 1 << 32:
        raise _fail("a=rtpmap", "rtpmap clock rate out of range")
    return RtpMap(pt, parts[0], rate, parts[2] if len(parts) == 3 else None)


def _rtcp_port(m: Media) -> int:
    value = m.attribute("rtcp")
    if value is None:
        port = m.port + 1  # RFC 3550 §11: RTCP on the next higher (odd) port
    else:
        first = value.split(" ")[0]
        if not _UINT.fullmatch(first) or int(first) > 0xFFFF:
            raise _fail("a=rtcp", f"bad a=rtcp port {excerpt(value)}")
        port = int(first)
    if not 0 < port <= 0xFFFF:
        raise _fail("a=rtcp", "RTCP port out of range")
    return port


def srtp_streams(sd: SessionDescription) -> tuple[SrtpStream, ...]:
    """The ``RTP/SAVP`` media of ``sd`` with their destination (media or session ``c=``)."""
    out = []
    for m in sd.media:
        if m.proto != profile.SDP_PROTO_SRTP:
            continue
        conn = sd.connection_for(m)
        if conn is None:
            raise _fail("c", f"{m.media} media on port {m.port} has no c= line")
        if m.port == 0:
            continue  # RFC 8866 §5.14: port 0 = media not in use
        pts = []
        for f in m.formats:
            if not _UINT.fullmatch(f) or int(f) > 127:
                raise _fail("m", f"RTP payload type must be 0..127, got {excerpt(f)}")
            pts.append(int(f))
        maps = tuple(parse_rtpmap(v) for v in m.attribute_values("rtpmap"))
        out.append(
            SrtpStream(m.media, conn.address, m.port, _rtcp_port(m), conn.ttl, tuple(pts), maps)
        )
    return tuple(out)


def parse_fec_declaration(value: str) -> FecDeclaration:
    ref_text, sep, params = value.partition(" ")
    if not sep or not _UINT.fullmatch(ref_text) or int(ref_text) > 0xFFFF:
        raise _fail("a=FEC-declaration", f"bad FEC-declaration {excerpt(value)}")
    found: dict[str, int] = {}
    for item in params.split(";"):
        key, eq, val = item.strip().partition("=")
        if not eq or key not in ("encoding-id", "instance-id") or key in found:
            raise _fail("a=FEC-declaration", f"bad FEC-declaration parameter {excerpt(item)}")
        if not _UINT.fullmatch(val) or int(val) > 0xFFFF:
            raise _fail("a=FEC-declaration", f"bad FEC-declaration value {excerpt(val)}")
        found[key] = int(val)
    if "encoding-id" not in found:
        raise _fail("a=FEC-declaration", "FEC-declaration without encoding-id")
    return FecDeclaration(int(ref_text), found["encoding-id"], found.get("instance-id"))


def parse_source_filter(value: str) -> SourceFilter:
    parts = value.split()
    if len(parts) < 5 or parts[0] not in ("incl", "excl") or parts[1] != NETTYPE_IN:
        raise _fail("a=source-filter", f"bad source-filter {excerpt(value)}")
    addrtype = parts[2]
    if addrtype not in ADDRTYPES:
        raise _fail("a=source-filter", f"bad source-filter address type {excerpt(addrtype)}")
    dest = parts[3]
    if dest != "*" and _ip_literal(dest, addrtype) is None:
        raise _fail("a=source-filter", f"bad source-filter destination {excerpt(dest)}")
    for src in parts[4:]:
        if _ip_literal(src, addrtype) is None:
            raise _fail("a=source-filter", f"bad source-filter source {excerpt(src)}")
    return SourceFilter(parts[0], addrtype, dest, tuple(parts[4:]))


def flute_sessions(sd: SessionDescription) -> tuple[FluteSession, ...]:
    """The FLUTE channels of ``sd`` (``m=application <port> FLUTE/UDP 0``)."""
    out = []
    for m in sd.media:
        if m.proto != profile.SDP_PROTO_FLUTE:
            continue
        conn = sd.connection_for(m)
        if conn is None:
            raise _fail("c", f"FLUTE media on port {m.port} has no c= line")
        tsi_text = m.attribute("flute-tsi") or sd.attribute("flute-tsi")
        if tsi_text is None or not _UINT.fullmatch(tsi_text.strip()):
            raise _fail("a=flute-tsi", "a FLUTE session needs a=flute-tsi:<TSI>")
        tsi = int(tsi_text.strip())
        if tsi >= 1 << 48:
            raise _fail("a=flute-tsi", "TSI exceeds 48 bits")
        sf_text = m.attribute("source-filter") or sd.attribute("source-filter")
        sf = parse_source_filter(sf_text) if sf_text is not None else None
        ch_text = m.attribute("flute-ch") or sd.attribute("flute-ch")
        channels = 1
        if ch_text is not None:
            if not _UINT.fullmatch(ch_text.strip()) or not 1 <= int(ch_text.strip()) <= 255:
                raise _fail("a=flute-ch", f"bad flute-ch {excerpt(ch_text)}")
            channels = int(ch_text.strip())
        decls = {
            d.reference: d
            for d in map(
                parse_fec_declaration,
                (*sd.attribute_values("FEC-declaration"), *m.attribute_values("FEC-declaration")),
            )
        }
        fec = None
        ref = m.attribute("FEC")
        if ref is not None:
            if not _UINT.fullmatch(ref.strip()) or int(ref.strip()) not in decls:
                raise _fail("a=FEC", f"a=FEC names no FEC-declaration: {excerpt(ref)}")
            fec = decls[int(ref.strip())]
        elif len(decls) == 1:
            fec = next(iter(decls.values()))
        out.append(FluteSession(conn.address, m.port, tsi, conn.ttl, sf, fec, channels))
    return tuple(out)


# --- builders -----------------------------------------------------------------------------------


def _addrtype(address: str) -> str:
    try:
        return "IP4" if ipaddress.ip_address(address).version == 4 else "IP6"
    except ValueError:
        raise SdpEncodeError(f"not an IP literal: {excerpt(address)}", field="c") from None


def _ttl_for(address: str, addrtype: str, ttl: int | None) -> int | None:
    """RFC 8866 §5.7: a TTL is written for IPv4 multicast only."""
    multicast = ipaddress.ip_address(address).is_multicast
    return ttl if addrtype == "IP4" and multicast else None


def streaming_sdp(
    *,
    address: str,
    media: Iterable[tuple[str, int, RtpMap]],
    ttl: int | None = 1,
    source: str | None = None,
    ssrcs: Sequence[int] = (),
    cname: str | None = None,
    session_name: str = "MBMS streaming session",
    origin: Origin | None = None,
) -> SessionDescription:
    """The SDP of a protected stream session (RFC 3711 ``RTP/SAVP``; TS 26.346 §7.3)::

        v=0
        o=- <sess-id> <sess-version> IN IP4 <source, else address>
        s=<session name>
        c=IN IP4 <address>[/<ttl>]
        t=0 0
        [a=source-filter: incl IN IP4 <address> <source>]     RFC 4570, multicast only
        m=<media> <port> RTP/SAVP <payload type>               one per (media, port, rtpmap)
        a=rtpmap:<payload type> <encoding>/<clock rate>[/<channels>]
        [a=ssrc:<ssrc> cname:<cname>]...                       RFC 5576 §4.1, §6.1

    RFC 8866 §5.7: an IPv4 multicast address carries ``ttl``; a unicast one none. The SSRCs
    (with their mandatory ``cname``) belong to the one media line of the session. No
    ``a=crypto`` / ``a=key-mgmt``: in MBMS the keys come from MIKEY (MSK by push/request, MTK on
    UDP 2269 at the same destination, TS 33.246 6.3.3.2.2); the protection description of the
    service announcement names the MSK. RTCP goes to port + 1 (RFC 3550 §11), so no ``a=rtcp``.
    """
    addrtype = _addrtype(address)
    conn = Connection(address, _ttl_for(address, addrtype, ttl), None, addrtype)
    if source is not None and _ip_literal(source, addrtype) is None:
        raise SdpEncodeError(
            f"source {excerpt(source)} is not an {addrtype} literal", field="a=source-filter"
        )
    ssrc_lines: tuple[Attribute, ...] = ()
    if ssrcs:
        if cname is None or not cname:
            raise SdpEncodeError("a=ssrc needs its cname (RFC 5576 §6.1)", field="a=ssrc")
        for ssrc in ssrcs:
            if not isinstance(ssrc, int) or not 0 <= ssrc < 1 << 32:
                raise SdpEncodeError("an SSRC is 32 bits", field="a=ssrc")
        ssrc_lines = tuple(Attribute("ssrc", f"{ssrc} cname:{cname}") for ssrc in ssrcs)
    elif cname is not None:
        _check_text(cname, "a=ssrc")
    ms = tuple(
        Media(
            kind,
            port,
            profile.SDP_PROTO_SRTP,
            (str(rm.payload_type),),
            attributes=(Attribute("rtpmap", rm.to_text()), *ssrc_lines),
        )
        for kind, port, rm in media
    )
    if ssrc_lines and len(ms) != 1:
        raise SdpEncodeError("SSRCs are listed for a session of one media line", field="a=ssrc")
    filters: tuple[Attribute, ...] = ()
    if source is not None and conn.is_multicast:
        sf = SourceFilter("incl", addrtype, address, (source,))
        filters = (Attribute("source-filter", sf.to_text()),)
    return SessionDescription(
        session_name=session_name,
        origin=origin or Origin(addrtype=addrtype, address=source or address),
        connection=conn,
        attributes=filters,
        media=ms,
    )


def flute_sdp(
    *,
    address: str,
    port: int,
    tsi: int,
    source: str,
    ttl: int | None = 1,
    fec_encoding_id: int = 0,
    fec_instance_id: int | None = None,
    session_name: str = "MBMS download session",
    origin: Origin | None = None,
) -> SessionDescription:
    """The SDP of one FLUTE download channel (TS 26.346 §7.3, RFC 4570)::

        v=0
        o=- <sess-id> <sess-version> IN IP4 <source>
        s=<session name>
        c=IN IP4 <address>[/<ttl>]
        t=0 0
        a=source-filter: incl IN IP4 * <source>        RFC 4570: only this sender
        a=flute-tsi:<TSI>
        a=flute-ch:1
        a=FEC-declaration:0 encoding-id=<0|1>[; instance-id=<id>]
        m=application <port> FLUTE/UDP 0
        a=FEC:0

    The FEC declaration names the session's FEC scheme: encoding-id 0 Compact No-Code
    (RFC 5445), 1 Raptor (RFC 5053). Each object's own FEC OTI travels in EXT_FTI and the FDT
    (``FEC-OTI-*``), so FDT Instances (RFC 3926 §3.3: FEC Encoding ID 0 SHOULD be used for
    them), MIKEY objects and tiny files stay Compact No-Code. RFC 8866 §5.7: the TTL suffix
    belongs to IPv4 *multicast* addresses only (none for a unicast one, e.g. a loopback test).
    """
    addrtype = _addrtype(address)
    if _ip_literal(source, addrtype) is None:
        raise SdpEncodeError(
            f"source {excerpt(source)} is not an {addrtype} literal", field="a=source-filter"
        )
    if not 0 <= tsi < 1 << 48:
        raise SdpEncodeError("TSI must fit 48 bits", field="a=flute-tsi")
    sf = SourceFilter("incl", addrtype, "*", (source,))
    if not 0 <= fec_encoding_id <= 0xFF or not 0 <= (fec_instance_id or 0) <= 0xFFFF:
        raise SdpEncodeError(  # RFC 5052 §5: FEC Encoding ID 8 bits, FEC Instance ID 16 bits
            "FEC encoding-id is 0..255, instance-id 0..65535", field="a=FEC-declaration"
        )
    fec = FecDeclaration(0, fec_encoding_id, fec_instance_id)
    m = Media(
        "application",
        port,
        profile.SDP_PROTO_FLUTE,
        ("0",),
        attributes=(Attribute("FEC", str(fec.reference)),),
    )
    return SessionDescription(
        session_name=session_name,
        origin=origin or Origin(addrtype=addrtype, address=source),
        connection=Connection(address, _ttl_for(address, addrtype, ttl), None, addrtype),
        attributes=(
            Attribute("source-filter", sf.to_text()),
            Attribute("flute-tsi", str(tsi)),
            Attribute("flute-ch", "1"),
            Attribute("FEC-declaration", fec.to_text()),
        ),
        media=(m,),
    )
