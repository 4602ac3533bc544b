"""The protection description fragment: generate -> parse round trips, validation, and hostile
XML (entities, DOCTYPE, size and depth bombs) rejected with typed errors."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast import profile
from broadcast.proto.announce.errors import (
    ProtectionDescriptionError,
    ProtectionForbiddenConstruct,
    ProtectionLimitExceeded,
)
from broadcast.proto.announce.protection import (
    KeyManagementServer,
    ProtectedSession,
    ProtectionDescription,
    parse_protection_description,
    protection_description,
)
from broadcast.proto.keys import KeyDomainId, MskId

KDID = KeyDomainId.from_plmn("001", "01")
NS = profile.PROTECTION_DESCRIPTION_NAMESPACE


def doc(body: str, root_attrs: str = ' key-domain-id="00F110"') -> bytes:
    return (
        f'<?xml version="1.0"?><mbms-protection-description xmlns="{NS}"{root_attrs}>'
        f"{body}</mbms-protection-description>"
    ).encode()


GOOD = (
    '<key-management-server fqdn="bmsc.example.org" uri="https://bmsc.example.org/km"/>'
    "<confidentiality-protection>on</confidentiality-protection>"
    "<integrity-protection>off</integrity-protection>"
    "<uicc-key-management-required>yes</uicc-key-management-required>"
    "<msk-id>00010000</msk-id><msk-id>0002 0000</msk-id>"
    '<session session-description="a.sdp" msk-id="00010000"/>'
)


def test_generate_then_parse() -> None:
    pd = protection_description(
        bmsc_fqdn="bmsc.example.org",
        key_domain_id=KDID,
        sessions=[("stream.sdp", 1), ("carousel.sdp", 2), ("audio.sdp", 1)],
        integrity=False,
        uicc_key_management_required=True,
        key_management_uri="http://127.27.0.9:8080/keymanagement",
    )
    xml = pd.to_xml()
    assert b'xmlns="urn:3gpp:mbms:protection:2005"' in xml
    assert b"<integrity-protection>off</integrity-protection>" in xml
    assert b"<uicc-key-management-required>yes</uicc-key-management-required>" in xml
    back = parse_protection_description(xml)
    assert back == pd
    assert back.msk_ids == (MskId(1, 0), MskId(2, 0))
    assert back.msk_for("audio.sdp") == MskId(1, 0) and back.msk_for("x.sdp") is None
    assert back.protected and back.key_groups == (1, 2)


def test_hand_written_document_with_whitespace_and_unknown_elements() -> None:
    extra = '<future xmlns="urn:other">x</future><hint>ignored</hint>'
    pd = parse_protection_description(doc(GOOD.replace("0002 0000", "00020000") + extra))
    assert (pd.confidentiality, pd.integrity, pd.uicc_key_management_required) == (
        True,
        False,
        True,
    )
    assert pd.key_management == KeyManagementServer(
        "bmsc.example.org", "https://bmsc.example.org/km"
    )
    assert pd.sessions == (ProtectedSession("a.sdp", MskId(1, 0)),)


def test_unprotected_service_needs_no_key_management() -> None:
    body = (
        "<confidentiality-protection>off</confidentiality-protection>"
        "<integrity-protection>off</integrity-protection>"
        "<uicc-key-management-required>no</uicc-key-management-required>"
    )
    pd = parse_protection_description(doc(body, ""))
    assert not pd.protected and pd.key_management is None and pd.key_domain_id is None
    assert parse_protection_description(pd.to_xml()) == pd


FIXED = GOOD.replace("0002 0000", "00020000")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (doc(FIXED.replace(">on<", ">yes<")), "confidentiality-protection"),
        (doc(FIXED.replace(">yes<", ">on<")), "uicc-key-management-required"),
        (doc(FIXED.replace("<integrity-protection>off</integrity-protection>", "")), None),
        (doc(FIXED + "<integrity-protection>on</integrity-protection>"), None),
        (doc(FIXED.replace("00010000</msk-id>", "00010003</msk-id>")), "msk-id"),
        (doc(FIXED.replace("00020000</msk-id>", "00010000</msk-id>")), "msk-id"),
        (doc(FIXED.replace("00020000</msk-id>", "0002</msk-id>")), "msk-id"),
        (doc(FIXED.replace('msk-id="00010000"', 'msk-id="00030000"')), "session"),
        (doc(FIXED.replace('msk-id="00010000"', "")), "session/@msk-id"),
        (doc(FIXED + '<session session-description="a.sdp" msk-id="00020000"/>'), "session"),
        (doc(FIXED.replace('session-description="a.sdp"', 'session-description="a b"')), None),
        (doc(FIXED, ' key-domain-id="00F1"'), "@key-domain-id"),
        (doc(FIXED, ""), "@key-domain-id"),
        (doc(FIXED.replace('fqdn="bmsc.example.org"', 'fqdn="-bad-.org"')), None),
        (doc(FIXED.replace("https://bmsc", "ftp://bmsc")), None),
        (doc(FIXED.replace('uri="https://bmsc.example.org/km"', "")), None),
        (
            (doc(FIXED[FIXED.index("<conf") :]), "key-management-server"),
            None,
        ),
        (doc("<msk-id><x/></msk-id>" + FIXED), "msk-id"),
        (doc(FIXED.replace("<msk-id>00010000</msk-id><msk-id>00020000</msk-id>", "")), None),
        (FIXED.encode(), "document"),  # several root elements
        (b"<x>&ent;</x>", "document"),
        (b"<mbms-protection-description/>", "root"),
        (b"", "document"),
        (b"<a>", "document"),
        (b"\xff\xfe<\x00", "document"),
    ],
)
def test_invalid_documents_are_typed_errors(data: bytes, field: str | None) -> None:
    with pytest.raises(ProtectionDescriptionError) as info:
        parse_protection_description(data)
    if field is not None:
        assert info.value.field == field
    assert len(str(info.value)) < 400


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<mbms-protection-description xmlns="urn:3gpp:mbms:protection:2005">&lol3;
</mbms-protection-description>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<mbms-protection-description xmlns="urn:3gpp:mbms:protection:2005">&e;
</mbms-protection-description>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, XXE, b"<!DOCTYPE x><x/>"])
def test_entities_and_doctype_are_refused(data: bytes) -> None:
    with pytest.raises(ProtectionForbiddenConstruct):
        parse_protection_description(data)


def test_size_count_and_depth_limits() -> None:
    with pytest.raises(ProtectionLimitExceeded):
        parse_protection_description(doc(" " * (70 * 1024)))
    with pytest.raises(ProtectionLimitExceeded):
        parse_protection_description(doc("<msk-id>00010000</msk-id>" * 65))
    with pytest.raises(ProtectionLimitExceeded):
        parse_protection_description(doc("<a>" * 10 + "</a>" * 10))
    with pytest.raises(ProtectionLimitExceeded):
        parse_protection_description(doc("<b/>" * 600))
    sessions = "".join(
        f'<session session-description="s{i}.sdp" msk-id="00010000"/>' for i in range(65)
    )
    with pytest.raises(ProtectionLimitExceeded):
        parse_protection_description(doc(FIXED + sessions))


def test_writer_validates() -> None:
    with pytest.raises(ProtectionDescriptionError):
        ProtectionDescription(True, True, False)  # protected, but no key management
    with pytest.raises(ProtectionDescriptionError):
        KeyManagementServer("bmsc.example.org", "https://x/\n")
    with pytest.raises(ProtectionDescriptionError):
        ProtectedSession('a"><x/>', MskId(1, 0))
    with pytest.raises(ProtectionDescriptionError):
        protection_description(
            bmsc_fqdn="bmsc.example.org", key_domain_id=KDID, sessions=[("a.sdp", 1)] * 2
        )


# --- hypothesis -------------------------------------------------------------------------------

_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_fqdn = st.lists(_label, min_size=1, max_size=4).map(".".join)
_uri_part = st.from_regex(r"[A-Za-z0-9._~/-]{0,20}", fullmatch=True)


@st.composite
def descriptions(draw: st.DrawFn) -> ProtectionDescription:
    conf, integ = draw(st.booleans()), draw(st.booleans())
    groups = draw(st.lists(st.integers(0, 0xFFFF), unique=True, min_size=1, max_size=5))
    names = draw(
        st.lists(st.from_regex(r"[a-z0-9]{1,8}\.sdp", fullmatch=True), unique=True, max_size=6)
    )
    fqdn = draw(_fqdn)
    return ProtectionDescription(
        confidentiality=conf,
        integrity=integ,
        uicc_key_management_required=draw(st.booleans()),
        key_management=KeyManagementServer(fqdn, f"https://{fqdn}/{draw(_uri_part)}"),
        key_domain_id=KeyDomainId(draw(st.binary(min_size=3, max_size=3))),
        msk_ids=tuple(MskId.current(g) for g in groups),
        sessions=tuple(
            ProtectedSession(n, MskId.current(draw(st.sampled_from(groups)))) for n in names
        ),
    )


@settings(max_examples=150, deadline=None)
@given(descriptions())
def test_any_description_round_trips(pd: ProtectionDescription) -> None:
    assert parse_protection_description(pd.to_xml()) == pd


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_typed_errors(data: bytes) -> None:
    with contextlib.suppress(ProtectionDescriptionError):
        parse_protection_description(data)


_VALID = doc(FIXED)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.integers(0, 255)), max_size=5))
def test_mutated_documents_raise_only_typed_errors(edits: list[tuple[int, int]]) -> None:
    data = bytearray(_VALID)
    for at, value in edits:
        data[at] = value
    with contextlib.suppress(ProtectionDescriptionError):
        parse_protection_description(bytes(data))
