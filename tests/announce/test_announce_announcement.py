"""Protection description + SDPs tied together by session description URI."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadcast.proto.announce.announcement import SessionKind, assemble, load_announcement
from broadcast.proto.announce.errors import AnnouncementError, AnnouncementMismatch, SdpError
from broadcast.proto.announce.protection import parse_protection_description, protection_description
from broadcast.proto.announce.sdp import RtpMap, flute_sdp, parse_sdp, streaming_sdp
from broadcast.proto.keys import KeyDomainId, MskId

KDID = KeyDomainId.from_plmn("001", "01")
STREAM = streaming_sdp(address="232.27.5.1", media=[("video", 5004, RtpMap(96, "VP8", 90000))])
CAROUSEL = flute_sdp(address="232.27.5.2", port=4001, tsi=3, source="10.0.0.1")


def protection(*pairs: tuple[str, int], protected: bool = True) -> bytes:
    return protection_description(
        bmsc_fqdn="bmsc.example.org",
        key_domain_id=KDID,
        sessions=pairs,
        confidentiality=protected,
        integrity=protected,
    ).to_xml()


def write(tmp_path: Path, xml: bytes, **sdps: bytes) -> tuple[Path, list[Path]]:
    (tmp_path / "p.xml").write_bytes(xml)
    paths = []
    for name, data in sdps.items():
        path = tmp_path / f"{name}.sdp"
        path.write_bytes(data)
        paths.append(path)
    return tmp_path / "p.xml", paths


def test_load_ties_sessions_to_their_msks(tmp_path: Path) -> None:
    xml, sdps = write(
        tmp_path,
        protection(("stream.sdp", 1), ("carousel.sdp", 2)),
        stream=STREAM.to_bytes(),
        carousel=CAROUSEL.to_bytes(),
    )
    ann = load_announcement(xml, sdps)
    (s,) = ann.streaming()
    (d,) = ann.download()
    assert (s.uri, s.kind, s.msk_id, s.streams[0].port) == (
        "stream.sdp",
        SessionKind.STREAMING,
        MskId(1, 0),
        5004,
    )
    assert (d.uri, d.kind, d.msk_id, d.flute[0].tsi) == (
        "carousel.sdp",
        SessionKind.DOWNLOAD,
        MskId(2, 0),
        3,
    )


@pytest.mark.parametrize(
    ("xml", "sdps", "message"),
    [
        (protection(("missing.sdp", 1)), {"stream.sdp": STREAM}, "no such session description"),
        (protection(("stream.sdp", 1)), {"stream.sdp": STREAM, "c.sdp": CAROUSEL}, "not mapped"),
        (
            protection(("x.sdp", 1)),
            {"x.sdp": parse_sdp("v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 1 RTP/AVP 0\r\n")},
            "no RTP/SAVP or FLUTE/UDP",
        ),
        (
            protection(("x.sdp", 1)),
            {
                "x.sdp": parse_sdp(
                    STREAM.to_text() + "m=application 4001 FLUTE/UDP 0\r\na=flute-tsi:1\r\n"
                )
            },
            "mixes",
        ),
    ],
)
def test_mismatches_are_typed_errors(xml: bytes, sdps: dict[str, object], message: str) -> None:
    with pytest.raises(AnnouncementMismatch, match=message):
        assemble(parse_protection_description(xml), sdps)  # type: ignore[arg-type]


def test_unprotected_services_need_no_mapping(tmp_path: Path) -> None:
    xml, sdps = write(tmp_path, protection(protected=False), stream=STREAM.to_bytes())
    ann = load_announcement(xml, sdps)
    assert not ann.protection.protected and ann.sessions[0].msk_id is None


def test_file_problems_are_announcement_errors(tmp_path: Path) -> None:
    xml, sdps = write(tmp_path, protection(("stream.sdp", 1)), stream=b"v=0\r\nbroken\r\n")
    with pytest.raises(SdpError, match=r"stream\.sdp: line 2"):
        load_announcement(xml, sdps)
    with pytest.raises(AnnouncementError, match="cannot read"):
        load_announcement(tmp_path / "absent.xml", sdps)
    (tmp_path / "big.sdp").write_bytes(b"v=0\r\n" + b"a=x\r\n" * 20000)
    with pytest.raises(AnnouncementError, match="larger than"):
        load_announcement(xml, [tmp_path / "big.sdp"])
    other = tmp_path / "sub"
    other.mkdir()
    (other / "stream.sdp").write_bytes(STREAM.to_bytes())
    (tmp_path / "stream.sdp").write_bytes(STREAM.to_bytes())
    with pytest.raises(AnnouncementMismatch, match="two session descriptions"):
        load_announcement(xml, [tmp_path / "stream.sdp", other / "stream.sdp"])
