"""The shared bounded, entity-free XML reader (broadcast/proto/safexml.py) and the FLUTE shim that
translates its refusals into FDT errors (broadcast/proto/flute/_safexml.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast.proto.errors import LocatedError
from broadcast.proto.flute import _safexml as flute_xml
from broadcast.proto.flute.errors import (
    FdtError,
    FdtForbiddenConstruct,
    FdtLimitExceeded,
    FdtTooLarge,
)
from broadcast.proto.safexml import (
    XmlError,
    XmlForbiddenConstruct,
    XmlLimitExceeded,
    XmlLimits,
    XmlTooLarge,
    parse_xml,
)

LIMITS = XmlLimits(max_bytes=4096, max_elements=8, max_depth=3, max_attributes=2)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"""


def test_parses_namespaces_attributes_text_and_offsets() -> None:
    doc = b'<r xmlns="urn:x" xmlns:p="urn:p" a="1" p:b="2"><c>hi</c><c>there</c></r>'
    root = parse_xml(doc, LIMITS)
    assert (root.namespace, root.name, root.offset) == ("urn:x", "r", 0)
    assert root.attribute("a") == "1" and root.attribute("b", "urn:p") == "2"
    assert root.attribute("b") is None
    assert [c.text for c in root.children] == ["hi", "there"]
    assert root.children[1].offset == doc.index(b"<c>there")


@pytest.mark.parametrize(
    "doc",
    [
        BILLION_LAUGHS,
        b'<!DOCTYPE r SYSTEM "http://example.invalid/x.dtd"><r/>',
        b"<!DOCTYPE r><r/>",
    ],
)
def test_doctype_and_entities_are_refused_before_expansion(doc: bytes) -> None:
    with pytest.raises(XmlForbiddenConstruct) as info:
        parse_xml(doc, LIMITS)
    assert info.value.field == "DOCTYPE" and info.value.offset is not None
    assert "lol" not in str(info.value)


def test_undeclared_entity_reference_is_malformed() -> None:
    with pytest.raises(XmlError):
        parse_xml(b"<r>&unknown;</r>", LIMITS)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (b"<r>" + b"<c/>" * 8 + b"</r>", "elements"),
        (b"<a><b><c><d/></c></b></a>", "depth"),
        (b'<r a="1" b="2" c="3"/>', "attributes"),
    ],
)
def test_limits(doc: bytes, field: str) -> None:
    with pytest.raises(XmlLimitExceeded) as info:
        parse_xml(doc, LIMITS)
    assert info.value.field == field


def test_per_name_limit_and_size_limit() -> None:
    limits = XmlLimits(max_bytes=64, per_name={"File": 2})
    with pytest.raises(XmlLimitExceeded) as info:
        parse_xml(b"<r><File/><File/><File/></r>", limits)
    assert info.value.field == "File"
    with pytest.raises(XmlTooLarge) as too_large:
        parse_xml(b"<r>" + b" " * 64 + b"</r>", limits)
    assert isinstance(too_large.value, XmlLimitExceeded)
    assert too_large.value.offset == 64


@pytest.mark.parametrize(
    "doc",
    [b"", b"<r>", b"<r></s>", b"not xml", b'<?xml version="1.0" encoding="x-nonsense"?><r/>'],
)
def test_malformed_documents(doc: bytes) -> None:
    with pytest.raises(XmlError) as info:
        parse_xml(doc, LIMITS)
    assert isinstance(info.value, LocatedError)
    assert type(info.value) is XmlError
    assert info.value.reason == "xml_malformed"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_xml_error(data: bytes) -> None:
    try:
        root = parse_xml(b"<r>" + data, LIMITS)
    except XmlError:
        return
    assert root.name == "r"


@pytest.mark.parametrize(
    ("doc", "limits", "fdt_type"),
    [
        (BILLION_LAUGHS, LIMITS, FdtForbiddenConstruct),
        (b"<r>" + b"<c/>" * 8 + b"</r>", LIMITS, FdtLimitExceeded),
        (b"<r>" + b" " * 64 + b"</r>", XmlLimits(max_bytes=64), FdtTooLarge),
        (b"<r>", LIMITS, FdtError),
    ],
)
def test_flute_shim_translates_to_fdt_errors(
    doc: bytes, limits: XmlLimits, fdt_type: type[FdtError]
) -> None:
    with pytest.raises(FdtError) as info:
        flute_xml.parse_xml(doc, limits)
    assert type(info.value) is fdt_type
    try:
        parse_xml(doc, limits)
    except XmlError as exc:
        assert (info.value.detail, info.value.field, info.value.offset) == (
            exc.detail,
            exc.field,
            exc.offset,
        )
    assert flute_xml.parse_xml(b"<r/>", LIMITS).name == "r"
