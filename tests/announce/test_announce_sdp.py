"""SDP model, writer and parser: round trips, the MBMS views, what the services write, and
hostile input (typed errors only, bounded)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast.aio.download.service import carousel_sdp
from broadcast.config.carousel import CarouselConfig
from broadcast.proto.announce.errors import SdpEncodeError, SdpError, SdpLimitExceeded
from broadcast.proto.announce.sdp import (
    Attribute,
    Connection,
    Media,
    Origin,
    RtpMap,
    SdpLimits,
    SessionDescription,
    flute_sdp,
    flute_sessions,
    parse_sdp,
    srtp_streams,
    streaming_sdp,
)


def test_streaming_round_trip_and_view() -> None:
    sd = streaming_sdp(
        address="232.27.0.1",
        ttl=4,
        media=[
            ("video", 5004, RtpMap(96, "VP8", 90000)),
            ("audio", 5006, RtpMap(111, "opus", 48000, "2")),
        ],
    )
    text = sd.to_text()
    assert "c=IN IP4 232.27.0.1/4\r\n" in text and "m=audio 5006 RTP/SAVP 111\r\n" in text
    assert parse_sdp(text) == sd
    video, audio = srtp_streams(sd)
    assert (video.address, video.port, video.rtcp_port, video.ttl) == ("232.27.0.1", 5004, 5005, 4)
    assert video.is_multicast and video.payload_types == (96,)
    assert audio.rtpmaps == (RtpMap(111, "opus", 48000, "2"),)


def test_unicast_gets_no_ttl() -> None:
    sd = streaming_sdp(address="127.27.0.1", media=[("video", 5004, RtpMap(96, "VP8", 90000))])
    assert "c=IN IP4 127.27.0.1\r\n" in sd.to_text()


def test_flute_round_trip_and_view() -> None:
    sd = flute_sdp(address="232.27.0.2", port=4001, tsi=77, source="10.1.2.3", fec_encoding_id=1)
    assert parse_sdp(sd.to_bytes()) == sd
    (f,) = flute_sessions(sd)
    assert (f.address, f.port, f.tsi, f.source, f.channels) == (
        "232.27.0.2",
        4001,
        77,
        "10.1.2.3",
        1,
    )
    assert f.fec is not None and f.fec.encoding_id == 1


def test_reads_what_the_stream_service_writes() -> None:
    text = streaming_sdp(
        session_name="news",
        address="232.27.0.3",
        media=[("video", 6000, RtpMap(97, "H264", 90000))],
        ttl=3,
        source="10.0.0.9",
        ssrcs=(0x1234,),
        cname="x@y",
    ).to_text()
    (s,) = srtp_streams(parse_sdp(text))
    assert (s.address, s.port, s.ttl, s.payload_types) == ("232.27.0.3", 6000, 3, (97,))
    assert s.rtpmaps[0].encoding == "H264"


def test_reads_what_the_carousel_writes() -> None:
    config = CarouselConfig(
        destination=("127.27.0.4", 4002), tsi=9, name="daily", confidentiality=False
    )
    text = carousel_sdp(config, source="127.0.0.1", session_id=0).to_text()
    sd = parse_sdp(text)
    (f,) = flute_sessions(sd)
    assert (f.address, f.port, f.tsi, f.source, f.ttl) == ("127.27.0.4", 4002, 9, "127.0.0.1", None)
    assert f.source_filter is not None and f.source_filter.destination == "*"
    assert f.fec is not None and f.fec.encoding_id == 0


def test_stream_builder_writes_source_filter_and_ssrcs_and_round_trips() -> None:
    sd = streaming_sdp(
        address="232.27.0.5",
        media=[("video", 5004, RtpMap(96, "VP8", 90000))],
        source="10.0.0.9",
        ssrcs=(1, 0xFFFFFFFF),
        cname="a@b",
    )
    assert parse_sdp(sd.to_text()) == sd
    assert sd.attribute("source-filter") == " incl IN IP4 232.27.0.5 10.0.0.9"
    assert sd.origin is not None and sd.origin.address == "10.0.0.9"
    assert sd.media[0].attribute_values("ssrc") == ("1 cname:a@b", "4294967295 cname:a@b")
    unicast = streaming_sdp(
        address="127.27.0.5", media=[("video", 5004, RtpMap(96, "VP8", 90000))], source="127.0.0.1"
    )
    assert unicast.attribute("source-filter") is None  # RFC 4570 filters multicast only


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ssrcs": (5,)},  # an SSRC needs its cname (RFC 5576 §6.1)
        {"ssrcs": (5,), "cname": ""},
        {"ssrcs": (1 << 32,), "cname": "c"},
        {"ssrcs": (-1,), "cname": "c"},
        {"cname": "a\r\nm=video 1 RTP/SAVP 0"},
        {"source": "example.org"},
        {"source": "::1"},
    ],
)
def test_stream_builder_refuses_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(SdpEncodeError):
        streaming_sdp(
            address="232.27.0.5",
            media=[("video", 5004, RtpMap(96, "VP8", 90000))],
            **kwargs,  # type: ignore[arg-type]
        )


def test_ssrcs_belong_to_a_session_of_one_media_line() -> None:
    two = [("video", 5004, RtpMap(96, "VP8", 90000)), ("audio", 5006, RtpMap(0, "PCMU", 8000))]
    with pytest.raises(SdpEncodeError, match="one media line"):
        streaming_sdp(address="232.27.0.5", media=two, ssrcs=(5,), cname="c")


@pytest.mark.parametrize(
    "args",
    [(128, "VP8", 90000, None), (96, "V P8", 90000, None), (96, "VP8", 0, None),
     (96, "VP8", 1 << 32, None), (96, "VP8", 90000, "2\r\n")],
)  # fmt: skip
def test_rtpmap_refuses_bad_values(args: tuple[int, str, int, str | None]) -> None:
    with pytest.raises(SdpEncodeError):
        RtpMap(*args)


def test_flute_builder_refuses_bad_values() -> None:
    with pytest.raises(SdpEncodeError):
        flute_sdp(address="232.27.0.2", port=4001, tsi=1, source="10.0.0.1", fec_encoding_id=256)
    with pytest.raises(SdpEncodeError):
        flute_sdp(address="232.27.0.2", port=4001, tsi=1 << 48, source="10.0.0.1")
    with pytest.raises(SdpEncodeError):
        flute_sdp(address="232.27.0.2", port=4001, tsi=1, source="::1")


def test_media_connection_overrides_session_and_rtcp_attribute() -> None:
    text = (
        "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=x\r\nc=IN IP4 232.0.0.1/2\r\nt=0 0\r\n"
        "m=video 5004 RTP/SAVP 96\r\nc=IN IP6 ff3e::1234\r\na=rtcp:6001\r\n"
        "m=audio 0 RTP/SAVP 0\r\n"  # port 0: not in use
    )
    (s,) = srtp_streams(parse_sdp(text))
    assert (s.address, s.rtcp_port, s.ttl) == ("ff3e::1234", 6001, None)


def test_lf_line_ends_and_unknown_attributes_are_accepted() -> None:
    sd = parse_sdp("v=0\ns=-\nt=0 0\na=tool:x\nm=video 1 RTP/AVP 0\na=sendonly\n")
    assert sd.attribute("tool") == "x"
    assert sd.media[0].attribute("sendonly") == ""
    assert srtp_streams(sd) == ()  # RTP/AVP is not protected streaming


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("", "document"),
        ("s=x\r\n", "v"),
        ("v=1\r\n", "v"),
        ("v=0\r\nv=0\r\n", "v"),
        ("v=0\r\nx=1\r\n", "x"),
        ("v=0\r\nno equals\r\n", "document"),
        ("v=0\r\n\r\ns=x\r\n", "document"),
        ("v=0\r\nc=IN IP4 example.org\r\n", "c"),
        ("v=0\r\nc=IN IP4 1.2.3.4/300\r\n", "c"),
        ("v=0\r\nc=IN IP4 1.2.3.4/1/2\r\n", "c"),  # an address count needs multicast
        ("v=0\r\nc=IN IP6 1.2.3.4\r\n", "c"),
        ("v=0\r\nc=ATM NSAP x\r\n", "c"),
        ("v=0\r\nc=IN IP4 1.1.1.1\r\nc=IN IP4 1.1.1.1\r\n", "c"),
        ("v=0\r\no=- x 0 IN IP4 1.1.1.1\r\n", "o"),
        ("v=0\r\nt=0\r\n", "t"),
        ("v=0\r\nr=7d 1h 0\r\n", "r"),
        ("v=0\r\nm=video 70000 RTP/SAVP 96\r\n", "m"),
        ("v=0\r\nm=video 5004 RTP/SAVP\r\n", "m"),
        ("v=0\r\nm=video 5004/0 RTP/SAVP 96\r\n", "m"),
        ("v=0\r\nm=video 5004 RTP/SAVP 96\r\nt=0 0\r\n", "t"),
        ("v=0\r\na=bad name:x\r\n", "a"),
        ("v=0\r\ns=a\x00b\r\n", "s"),
        ("v=0\r\ns=\xff\r\n", "document"),
    ],
)
def test_malformed_lines_are_typed_errors(text: str, field: str) -> None:
    data = text.encode("latin-1")
    with pytest.raises(SdpError) as info:
        parse_sdp(data)
    assert info.value.field == field
    assert info.value.offset is not None or field == "document"


@pytest.mark.parametrize(
    "text",
    [
        "v=0\r\nc=IN IP4 1.1.1.1\r\nm=video 5004 RTP/SAVP 300\r\n",  # PT > 127
        "v=0\r\nm=video 5004 RTP/SAVP 96\r\n",  # no c= anywhere
        "v=0\r\nc=IN IP4 1.1.1.1\r\nm=video 5004 RTP/SAVP 96\r\na=rtpmap:96 VP8\r\n",
        "v=0\r\nc=IN IP4 1.1.1.1\r\nm=video 5004 RTP/SAVP 96\r\na=rtcp:99999\r\n",
    ],
)
def test_bad_streaming_media_are_typed_errors(text: str) -> None:
    with pytest.raises(SdpError):
        srtp_streams(parse_sdp(text))


@pytest.mark.parametrize(
    "attrs",
    [
        "",  # no TSI
        "a=flute-tsi:x\r\n",
        "a=flute-tsi:281474976710656\r\n",  # 2^48
        "a=flute-tsi:1\r\na=source-filter: incl IN IP4 * example.org\r\n",
        "a=flute-tsi:1\r\na=source-filter: both IN IP4 * 1.1.1.1\r\n",
        "a=flute-tsi:1\r\na=FEC-declaration:0 encoding-id=x\r\n",
        "a=flute-tsi:1\r\na=FEC-declaration:0 colour=1\r\n",
        "a=flute-tsi:1\r\na=FEC-declaration:0 instance-id=1\r\n",
        "a=flute-tsi:1\r\na=FEC:3\r\n",
        "a=flute-tsi:1\r\na=flute-ch:0\r\n",
    ],
)
def test_bad_flute_attributes_are_typed_errors(attrs: str) -> None:
    text = "v=0\r\nc=IN IP4 232.1.1.1/1\r\nm=application 4001 FLUTE/UDP 0\r\n" + attrs
    with pytest.raises(SdpError):
        flute_sessions(parse_sdp(text))


def test_limits() -> None:
    small = SdpLimits(max_bytes=200, max_line_bytes=50, max_lines=5, max_media=1, max_attributes=2)
    with pytest.raises(SdpLimitExceeded):
        parse_sdp(b"v=0\r\n" + b"a=x\r\n" * 100, small)
    with pytest.raises(SdpLimitExceeded):
        parse_sdp(b"v=0\r\ns=" + b"x" * 60 + b"\r\n", small)
    with pytest.raises(SdpLimitExceeded):
        parse_sdp(b"v=0\r\na=x\r\na=y\r\na=z\r\n", small)
    with pytest.raises(SdpLimitExceeded):
        parse_sdp(b"v=0\r\nm=a 1 b 0\r\nm=a 2 b 0\r\n", small)
    with pytest.raises(SdpLimitExceeded):
        parse_sdp(b"v=0\r\n" + b"b=AS:1\r\n" * 6, small)
    with pytest.raises(SdpLimitExceeded):
        parse_sdp(b"v=0\r\n" + b"x" * 5000)  # default limits
    with pytest.raises(SdpLimitExceeded):
        parse_sdp(b"v=0\r\n" + b"a=x\r\n" * 20000)


def test_writer_refuses_line_breaking_values() -> None:
    with pytest.raises(SdpEncodeError):
        SessionDescription(session_name="a\r\nm=video 1 RTP/SAVP 0")
    with pytest.raises(SdpEncodeError):
        Attribute("rtpmap", "96 x\n")
    with pytest.raises(SdpEncodeError):
        Connection("not-an-ip")
    with pytest.raises(SdpEncodeError):
        Media("video", 70000, "RTP/SAVP", ("96",))
    with pytest.raises(SdpEncodeError):
        Origin(username="a b")


# --- hypothesis ---------------------------------------------------------------------------------

_token = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-._", min_size=1, max_size=12
)
_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() == s and s != "")
_ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
_attribute = st.builds(Attribute, _token, st.one_of(st.none(), _text))
_media = st.builds(
    Media,
    media=_token,
    port=st.integers(0, 65535),
    proto=st.sampled_from(["RTP/SAVP", "FLUTE/UDP", "RTP/AVP", "udp"]),
    formats=st.lists(_token, min_size=1, max_size=3).map(tuple),
    connection=st.one_of(st.none(), st.builds(Connection, _ipv4)),
    attributes=st.lists(_attribute, max_size=4).map(tuple),
)
_session = st.builds(
    SessionDescription,
    session_name=_text,
    origin=st.builds(Origin, _token, st.integers(0, 2**63), st.integers(0, 2**63)),
    connection=st.one_of(st.none(), st.builds(Connection, _ipv4)),
    attributes=st.lists(_attribute, max_size=4).map(tuple),
    media=st.lists(_media, max_size=4).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(_session)
def test_any_model_round_trips(sd: SessionDescription) -> None:
    assert parse_sdp(sd.to_bytes()) == sd


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_sdp_errors(data: bytes) -> None:
    try:
        sd = parse_sdp(data)
    except SdpError:
        return
    for view in (srtp_streams, flute_sessions):
        with contextlib.suppress(SdpError):
            view(sd)


_VALID = (
    b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=x\r\nc=IN IP4 232.1.1.1/1\r\nt=0 0\r\n"
    b"a=source-filter: incl IN IP4 232.1.1.1 10.0.0.1\r\na=flute-tsi:5\r\n"
    b"a=FEC-declaration:0 encoding-id=0\r\nm=application 4001 FLUTE/UDP 0\r\na=FEC:0\r\n"
    b"m=video 5004 RTP/SAVP 96\r\na=rtpmap:96 VP8/90000\r\n"
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.integers(0, 255)), max_size=6))
def test_mutated_valid_documents_raise_only_sdp_errors(edits: list[tuple[int, int]]) -> None:
    data = bytearray(_VALID)
    for at, value in edits:
        data[at] = value
    try:
        sd = parse_sdp(bytes(data))
        srtp_streams(sd)
        flute_sessions(sd)
    except SdpError:
        pass
