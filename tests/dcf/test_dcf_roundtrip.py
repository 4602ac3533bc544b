"""Round trips through the writer and the reader: sizes, sources, chunking, header strings."""

from __future__ import annotations

import io
import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcast.proto.dcf import (
    DcfHeaders,
    DcfWriteError,
    DcfWriter,
    MbmsKeyId,
    mbms_headers,
    parse_dcf,
    protect_bytes,
    protect_stream,
)
from broadcast.proto.keys import InvalidKeyMaterial, KeyDomainId, MskId, Mtk, MtkId

KEY = Mtk(bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c"))
KEY_ID = MbmsKeyId(KeyDomainId.from_plmn("001", "01"), MskId(1, 2), MtkId(3))
FQDN = "bmsc.example.org"
KM_URI = "http://bmsc.example.org/keys"


def protect(data: bytes, **kw: object) -> bytes:
    args: dict[str, object] = {
        "key": KEY,
        "key_id": KEY_ID,
        "bmsc_fqdn": FQDN,
        "key_management_uri": KM_URI,
        "content_type": "application/octet-stream",
    }
    args.update(kw)
    return protect_bytes(data, **args)  # type: ignore[arg-type]


def pattern(n: int) -> bytes:
    return bytes((i * 7 + 3) & 0xFF for i in range(n))


class NonSeekable(io.RawIOBase):
    """A readable or writable stream that cannot seek (a pipe, a socket)."""

    def __init__(self, data: bytes = b"") -> None:
        self._in = io.BytesIO(data)
        self.out = bytearray()

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        data = self._in.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def write(self, data) -> int:  # type: ignore[no-untyped-def]
        self.out += data
        return len(data)


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 31, 32, 33, (1 << 20) + 3])
def test_round_trip_sizes(size: int) -> None:
    data = pattern(size)
    dcf = protect(data)
    reader = parse_dcf(dcf)
    assert reader.plaintext_length == size
    assert reader.encrypted_data_length == 16 + (size // 16 + 1) * 16
    assert reader.total_size == len(dcf)
    assert reader.decrypt(KEY) == data
    chunks = list(parse_dcf(io.BytesIO(dcf)).iter_decrypt(KEY, chunk_size=4096))
    assert sum(map(len, chunks)) == size and all(len(c) <= 4096 for c in chunks)
    assert b"".join(chunks) == data


def test_fresh_iv_and_content_id_per_dcf() -> None:
    a, b = parse_dcf(protect(b"same")), parse_dcf(protect(b"same"))
    assert a.iv != b.iv
    assert a.content_id != b.content_id
    assert a.content_id.startswith("cid:") and a.content_id.endswith("@" + FQDN)


def test_profile_headers() -> None:
    reader = parse_dcf(protect(b"x", content_type="text/plain", extra_textual_headers={"A": "b"}))
    assert reader.rights_issuer_url == KM_URI
    assert reader.content_type == "text/plain"
    assert list(reader.textual_headers) == ["MBMS-Key-ID", "A"]
    assert reader.textual_headers["MBMS-Key-ID"] == "00f110000100020003"
    assert reader.mbms_key_id == KEY_ID
    assert reader.headers.header("mbms-key-id") == "00f110000100020003"
    assert "00f110000100020003" in repr(reader)


def test_dcf_inside_a_larger_file_from_its_position() -> None:
    dcf = protect(pattern(100))
    f = io.BytesIO(b"PREFIX" + dcf)
    f.seek(6)
    assert parse_dcf(f).decrypt(KEY) == pattern(100)


@pytest.mark.parametrize("chunk", [16, 17, 100, 65536])
def test_writer_sources_and_chunking(chunk: int) -> None:
    data = pattern(5000)
    headers = DcfHeaders("a/b", "cid:x@y", "http://y/", {"K": "v"})
    from_file = b"".join(
        DcfWriter(
            io.BytesIO(data),
            headers,
            KEY,
            plaintext_length=len(data),
            chunk_size=chunk,
            rand=bytes,
        )
    )
    pieces = [data[:1], data[1:1000], b"", data[1000:]]
    writer = DcfWriter(
        pieces, headers, KEY, plaintext_length=len(data), chunk_size=chunk, rand=bytes
    )
    out = list(writer)
    assert max(len(o) for o in out) <= max(chunk + 16, writer.header_size)
    assert b"".join(out) == from_file
    assert writer.total_size == len(from_file)
    reader = parse_dcf(from_file)
    assert reader.headers == headers
    assert reader.mbms_key_id is None
    assert b"".join(reader.iter_decrypt(KEY, chunk_size=chunk)) == data


def test_protect_stream_measures_a_seekable_input() -> None:
    data = pattern(70000)
    src, dst = io.BytesIO(data), io.BytesIO()
    n = protect_stream(
        src,
        dst,
        key=KEY,
        key_id=KEY_ID,
        bmsc_fqdn=FQDN,
        key_management_uri=KM_URI,
        content_type="video/mp4",
    )
    assert n == len(dst.getvalue())
    assert parse_dcf(dst.getvalue()).decrypt(KEY) == data


def test_unknown_length_is_patched_in_a_seekable_output() -> None:
    data = pattern(40000)
    dst = io.BytesIO(b"HEAD")
    dst.seek(4)
    n = protect_stream(
        io.BufferedReader(NonSeekable(data)),
        dst,
        key=KEY,
        key_id=KEY_ID,
        bmsc_fqdn=FQDN,
        key_management_uri=KM_URI,
        content_type="video/mp4",
    )
    assert dst.tell() == 4 + n
    dst.seek(4)
    reader = parse_dcf(dst)
    assert reader.plaintext_length == len(data)
    assert reader.decrypt(KEY) == data


def test_unknown_length_patches_equal_declared_output() -> None:
    data = pattern(1234)
    headers = DcfHeaders("a/b", "cid:x@y", "")
    declared = b"".join(DcfWriter([data], headers, KEY, plaintext_length=len(data), rand=bytes))
    writer = DcfWriter([data], headers, KEY, plaintext_length=None, rand=bytes)
    with pytest.raises(DcfWriteError):
        writer.length_patches()
    assert writer.total_size is None
    buf = bytearray(b"".join(writer))
    for offset, patch in writer.length_patches():
        buf[offset : offset + len(patch)] = patch
    assert bytes(buf) == declared
    assert writer.total_size == len(declared)
    assert writer.plaintext_length == len(data)


def test_unknown_length_and_nothing_seekable_is_refused() -> None:
    with pytest.raises(DcfWriteError, match="declare plaintext_length"):
        protect_stream(
            io.BufferedReader(NonSeekable(b"abc")),
            NonSeekable(),
            key=KEY,
            key_id=KEY_ID,
            bmsc_fqdn=FQDN,
            key_management_uri=KM_URI,
            content_type="video/mp4",
        )
    sink = NonSeekable()
    protect_stream(
        io.BufferedReader(NonSeekable(b"abc")),
        sink,
        plaintext_length=3,
        key=KEY,
        key_id=KEY_ID,
        bmsc_fqdn=FQDN,
        key_management_uri=KM_URI,
        content_type="video/mp4",
    )
    assert parse_dcf(bytes(sink.out)).decrypt(KEY) == b"abc"


@pytest.mark.parametrize(("declared", "actual"), [(10, 9), (10, 11), (0, 1), (1, 0)])
def test_length_mismatch_is_a_write_error(declared: int, actual: int) -> None:
    headers = DcfHeaders("a/b", "cid:x@y", "")
    for source in (io.BytesIO(b"z" * actual), [b"z" * actual]):
        with pytest.raises(DcfWriteError):
            b"".join(DcfWriter(source, headers, KEY, plaintext_length=declared))


def test_writer_is_single_use() -> None:
    writer = DcfWriter([b"a"], DcfHeaders("a/b", "cid:x@y", ""), KEY, plaintext_length=1)
    b"".join(writer)
    with pytest.raises(DcfWriteError):
        b"".join(writer)


@pytest.mark.parametrize(
    "headers",
    [
        DcfHeaders("a/b\x00", "cid:x@y", ""),
        DcfHeaders("é/b", "cid:x@y", ""),
        DcfHeaders("x" * 256, "cid:x@y", ""),
        DcfHeaders("a/b", "", ""),
        DcfHeaders("a/b", "cid: x@y\n", ""),
        DcfHeaders("a/b", "cid:" + "x" * 3000, ""),
        DcfHeaders("a/b", "cid:x@y", "http://ü/"),
        DcfHeaders("a/b", "cid:x@y", "", {"": "v"}),
        DcfHeaders("a/b", "cid:x@y", "", {"a:b": "v"}),
        DcfHeaders("a/b", "cid:x@y", "", {"a b": "v"}),
        DcfHeaders("a/b", "cid:x@y", "", {"a": "v\x00"}),
        DcfHeaders("a/b", "cid:x@y", "", {"a": "v\r\n"}),
        DcfHeaders("a/b", "cid:x@y", "", {"Name": "1", "NAME": "2"}),
        DcfHeaders("a/b", "cid:x@y", "", {"a": "v" * 20000}),
        DcfHeaders("a/b", "cid:x@y", "", encryption_method=2),
        DcfHeaders("a/b", "cid:x@y", "", padding_scheme=0),
    ],
)
def test_writer_refuses_bad_headers(headers: DcfHeaders) -> None:
    with pytest.raises(DcfWriteError):
        DcfWriter([b""], headers, KEY, plaintext_length=0)


def test_writer_refuses_bad_parameters() -> None:
    headers = DcfHeaders("a/b", "cid:x@y", "")
    with pytest.raises(DcfWriteError):
        DcfWriter([b""], headers, b"short", plaintext_length=0)
    with pytest.raises(DcfWriteError):
        DcfWriter([b""], headers, KEY, plaintext_length=-1)
    with pytest.raises(DcfWriteError):
        DcfWriter([b""], headers, KEY, plaintext_length=0, chunk_size=8)
    with pytest.raises(DcfWriteError):
        DcfWriter([b""], headers, KEY, plaintext_length=0, rand=lambda n: b"\x00" * (n - 1))
    with pytest.raises(DcfWriteError):
        protect(b"", bmsc_fqdn="bad host/")
    with pytest.raises(DcfWriteError):
        protect(b"", key_management_uri="")
    with pytest.raises(DcfWriteError):
        protect(b"", extra_textual_headers={"mbms-key-id": "00"})
    with pytest.raises(InvalidKeyMaterial):
        parse_dcf(protect(b"")).decrypt(b"short")


# --- hypothesis --------------------------------------------------------------------------------

TOKEN = st.text(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~", min_size=1, max_size=20)
VALUE = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), include_characters="\t"), max_size=40
)
ASCII = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
FQDNS = st.lists(LABEL, min_size=1, max_size=4).map(".".join)


@st.composite
def extra_headers(draw: st.DrawFn) -> dict[str, str]:
    names = draw(st.lists(TOKEN, max_size=5, unique_by=str.casefold))
    names = [n for n in names if n.casefold() != "mbms-key-id"]
    return {n: draw(VALUE) for n in names}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=600),
    content_type=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=255),
    fqdn=FQDNS,
    uri=ASCII.filter(bool),
    extra=extra_headers(),
    key=st.binary(min_size=16, max_size=16),
    kd=st.binary(min_size=3, max_size=3),
    msk=st.integers(0, 0xFFFF_FFFF),
    mtk=st.integers(1, 0xFFFF),
    chunk=st.integers(16, 700),
)
def test_round_trip_hypothesis(
    data: bytes,
    content_type: str,
    fqdn: str,
    uri: str,
    extra: dict[str, str],
    key: bytes,
    kd: bytes,
    msk: int,
    mtk: int,
    chunk: int,
) -> None:
    key_id = MbmsKeyId(KeyDomainId(kd), MskId.from_int(msk), MtkId(mtk))
    rand_bytes = os.urandom
    headers = mbms_headers(
        key_id=key_id,
        bmsc_fqdn=fqdn,
        key_management_uri=uri,
        content_type=content_type,
        extra_textual_headers=extra,
        rand=rand_bytes,
    )
    pieces = [data[i : i + 37] for i in range(0, len(data), 37)]
    dcf = b"".join(
        DcfWriter(pieces, headers, Mtk(key), plaintext_length=len(data), chunk_size=chunk)
    )
    reader = parse_dcf(dcf)
    assert reader.headers == headers
    assert reader.content_type == content_type
    assert reader.rights_issuer_url == uri
    assert reader.textual_headers == {"MBMS-Key-ID": key_id.header_value(), **extra}
    assert reader.mbms_key_id == key_id
    assert reader.plaintext_length == len(data)
    assert b"".join(reader.iter_decrypt(key, chunk_size=chunk)) == data


def test_text_mode_source_is_refused() -> None:
    with pytest.raises(DcfWriteError, match="binary"):
        b"".join(
            DcfWriter(io.StringIO("abc"), DcfHeaders("a/b", "cid:x@y", ""), KEY, plaintext_length=3)  # type: ignore[arg-type]
        )
