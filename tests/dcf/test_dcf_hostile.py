"""Hostile and malformed DCFs: only DcfError subclasses escape, they name box and offset, and
absurd lengths are refused before anything of that size is allocated."""

from __future__ import annotations

import hashlib
import io
import struct
import tracemalloc

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast.proto.dcf import (
    DcfBoxError,
    DcfError,
    DcfFormatError,
    DcfHeaderError,
    DcfKeyError,
    DcfLengthError,
    DcfLimitError,
    DcfLimits,
    DcfTruncatedError,
    DcfUnsupportedError,
    MbmsKeyId,
    parse_dcf,
    protect_bytes,
)
from broadcast.proto.keys import KeyDomainId, MskId, Mtk, MtkId

KEY = bytes(range(16))
WRONG_KEY = bytes(range(1, 17))
IV = bytes(range(0x40, 0x50))
PLAIN = b"seventeen bytes!!"  # 17 bytes: 15 bytes of padding
KEY_ID_TEXT = b"MBMS-Key-ID:00f110000100020003\x00"


# --- an independent DCF builder (struct + the raw cipher), with knobs for breaking it ---------


def box(kind: bytes, payload: bytes, *, large: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full(kind: bytes, payload: bytes, *, version: int = 0, large: bool = False) -> bytes:
    return box(kind, struct.pack(">I", version << 24) + payload, large=large)


def encrypt(plain: bytes, key: bytes = KEY, iv: bytes = IV) -> bytes:
    pad = 16 - len(plain) % 16
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + enc.update(plain + bytes([pad]) * pad) + enc.finalize()


def ohdr(
    *,
    method: int = 1,
    padding: int = 1,
    plaintext_length: int = len(PLAIN),
    cid: bytes = b"cid:u@bmsc.example",
    riu: bytes = b"http://bmsc.example/k",
    textual: bytes = KEY_ID_TEXT,
    extended: bytes = b"",
    version: int = 0,
) -> bytes:
    fields = struct.pack(
        ">BBQHHH", method, padding, plaintext_length, len(cid), len(riu), len(textual)
    )
    return full(b"ohdr", fields + cid + riu + textual + extended, version=version)


def odhe(*, content_type: bytes = b"text/plain", children: bytes | None = None) -> bytes:
    kids = ohdr() if children is None else children
    return full(b"odhe", bytes([len(content_type)]) + content_type + kids)


def odda(data: bytes | None = None, *, edl: int | None = None, version: int = 0) -> bytes:
    payload = encrypt(PLAIN) if data is None else data
    length = len(payload) if edl is None else edl
    return full(b"odda", struct.pack(">Q", length) + payload, large=True, version=version)


FTYP = box(b"ftyp", b"odcf" + struct.pack(">I", 2) + b"odcf")


def dcf(
    *,
    ftyp: bytes = FTYP,
    children: bytes | None = None,
    odrm_version: int = 0,
    after: bytes = b"",
) -> bytes:
    kids = odhe() + odda() if children is None else children
    return ftyp + full(b"odrm", kids, version=odrm_version, large=True) + after


VALID = dcf()


def test_builder_output_is_valid() -> None:
    reader = parse_dcf(VALID)
    assert reader.decrypt(KEY) == PLAIN
    assert reader.mbms_key_id == MbmsKeyId(KeyDomainId.from_hex("00f110"), MskId(1, 2), MtkId(3))


def only_dcf_errors(data: bytes, key: bytes = KEY) -> bytes | None:
    """Parse and decrypt; return the plaintext or None; anything but DcfError fails the test."""
    try:
        return parse_dcf(data).decrypt(key)
    except DcfError:
        return None


# --- wrong key ---------------------------------------------------------------------------------


def test_wrong_key_is_a_typed_key_error() -> None:
    reader = parse_dcf(VALID)
    with pytest.raises(DcfKeyError, match="wrong key or corrupted data: padding does not verify"):
        reader.decrypt(WRONG_KEY)
    with pytest.raises(DcfKeyError):
        reader.check_key(Mtk(WRONG_KEY))
    reader.check_key(Mtk(KEY))


def test_wrong_key_writes_nothing_before_failing() -> None:
    out = io.BytesIO()
    with pytest.raises(DcfKeyError) as info:
        for chunk in parse_dcf(VALID).iter_decrypt(WRONG_KEY):
            out.write(chunk)
    assert out.getvalue() == b""
    assert info.value.box == "odrm/odda"


def protected(size: int, iv: bytes = IV) -> bytes:
    """The DCF of ``size`` zero bytes under KEY, with a fixed ContentID UUID and IV."""
    drawn = [bytes(16), iv]  # protect_bytes draws the UUID, then the IV

    def rand(n: int) -> bytes:
        out = drawn.pop(0)
        assert len(out) == n
        return out

    return protect_bytes(
        bytes(size),
        key=KEY,
        key_id=MbmsKeyId(KeyDomainId.from_hex("00f110"), MskId(1, 2), MtkId(3)),
        bmsc_fqdn="b.example",
        key_management_uri="http://b.example/k",
        content_type="a/b",
        rand=rand,
    )


def passes_padding_check(data: bytes, key: bytes) -> bool:
    try:
        parse_dcf(data).check_key(key)
    except DcfKeyError:
        return False
    return True


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 1000])
def test_wrong_key_for_many_sizes(size: int) -> None:
    # A fixed IV makes the outcome known (this IV is not one of the 1-in-256 that let WRONG_KEY
    # through for size 15; see the two tests below for that case).
    with pytest.raises(DcfKeyError):
        parse_dcf(protected(size)).decrypt(WRONG_KEY)


#: With this IV, the 15-byte file's single block decrypts under WRONG_KEY to a block ending in
#: 0x01: valid 1-byte padding (found by trying IVs 0, 1, 2, ... as 128-bit numbers; the 11th).
CHANCE_IV = (10).to_bytes(16, "big")


def test_a_wrong_key_can_pass_the_padding_check_by_chance() -> None:
    # PlaintextLength 15 means one byte of padding: a wrong key passes the padding check when
    # the last decrypted byte happens to be 0x01, so about 1 time in 256 (documented in
    # broadcast.proto.dcf.reader). The reader then returns PlaintextLength bytes of garbage
    # without an error. The FDT Content-MD5 cannot tell either: it digests the DCF bytes,
    # which are intact. Only a check of the plaintext against something the caller trusts
    # catches it.
    plain = bytes(15)
    data = protected(len(plain), CHANCE_IV)
    assert parse_dcf(data).decrypt(KEY) == plain
    garbage = parse_dcf(data).decrypt(WRONG_KEY)  # no DcfKeyError
    assert len(garbage) == len(plain) and garbage != plain
    assert hashlib.sha256(garbage).digest() != hashlib.sha256(plain).digest()


def test_wrong_key_pass_rate_follows_the_padding_length() -> None:
    # 2048 fixed IVs: with one padding byte about 2048 / 256 = 8 let WRONG_KEY through (for
    # these inputs exactly 11); with two padding bytes (2^-16 each) none of 256 does.
    ivs = [i.to_bytes(16, "big") for i in range(2048)]
    one_byte = sum(passes_padding_check(protected(15, iv), WRONG_KEY) for iv in ivs)
    assert one_byte == 11
    assert passes_padding_check(protected(15, CHANCE_IV), WRONG_KEY)
    assert not any(passes_padding_check(protected(14, iv), WRONG_KEY) for iv in ivs[:256])
    assert all(passes_padding_check(protected(15, iv), KEY) for iv in ivs[:256])


def test_corrupted_last_block_is_a_key_error() -> None:
    data = bytearray(VALID)
    data[-1] ^= 0x01
    with pytest.raises(DcfKeyError):
        parse_dcf(bytes(data)).decrypt(KEY)


def test_valid_padding_but_wrong_length_is_a_key_error() -> None:
    # PlaintextLength 18 keeps the same padded length as 17 but expects 14 bytes of padding.
    data = dcf(children=odhe(children=ohdr(plaintext_length=18)) + odda())
    with pytest.raises(DcfKeyError):
        parse_dcf(data).decrypt(KEY)


# --- truncation, random bytes, mutations -------------------------------------------------------


def test_truncated_at_every_offset() -> None:
    for n in range(len(VALID)):
        with pytest.raises(DcfTruncatedError):
            parse_dcf(VALID[:n])
        with pytest.raises(DcfTruncatedError):
            parse_dcf(io.BytesIO(VALID[:n]))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    assert only_dcf_errors(data) is None or data.startswith(VALID[:8])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_after_a_valid_prefix(tail: bytes) -> None:
    only_dcf_errors(VALID[:60] + tail)
    only_dcf_errors(VALID + tail)


@settings(max_examples=500, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.integers(0, 255))
def test_single_byte_mutations(pos: int, value: int) -> None:
    data = bytearray(VALID)
    data[pos] = value
    only_dcf_errors(bytes(data))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=8))
def test_multi_byte_mutations(changes: list[tuple[int, int]]) -> None:
    data = bytearray(VALID)
    for pos, value in changes:
        data[pos] = value
    only_dcf_errors(bytes(data))


def _length_fields() -> dict[str, tuple[int, int]]:
    """name -> (offset, width) of every length/size field of VALID."""
    odhe_at = 20 + 16 + 4
    ct_len = VALID[odhe_at + 12]
    ohdr_at = odhe_at + 13 + ct_len
    fields_at = ohdr_at + 12
    (odhe_size,) = struct.unpack(">I", VALID[odhe_at : odhe_at + 4])
    odda_at = odhe_at + odhe_size
    return {
        "ftyp size": (0, 4),
        "odrm size32": (20, 4),
        "odrm largesize": (28, 8),
        "odhe size": (odhe_at, 4),
        "ContentTypeLength": (odhe_at + 12, 1),
        "ohdr size": (ohdr_at, 4),
        "PlaintextLength": (fields_at + 2, 8),
        "ContentIDLength": (fields_at + 10, 2),
        "RightsIssuerURLLength": (fields_at + 12, 2),
        "TextualHeadersLength": (fields_at + 14, 2),
        "odda size32": (odda_at, 4),
        "odda largesize": (odda_at + 8, 8),
        "EncryptedDataLength": (odda_at + 20, 8),
    }


def _hostile_values(width: int, current: int) -> set[int]:
    top = (1 << (8 * width)) - 1
    values = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, top, top - 1, top >> 1, (top >> 1) + 1}
    values |= {current - 1, current + 1, current + 16, current - 16, current * 2}
    if width >= 4:
        values |= {1 << 31, (1 << 32) - 1, 1 << 32}
    if width == 8:
        values |= {1 << 63, (1 << 64) - 1, 1 << 62}
    return {v for v in values if 0 <= v <= top and v != current}


@pytest.mark.parametrize("name", sorted(_length_fields()))
def test_mutated_lengths_never_pass(name: str) -> None:
    offset, width = _length_fields()[name]
    current = int.from_bytes(VALID[offset : offset + width], "big")
    for value in _hostile_values(width, current):
        data = bytearray(VALID)
        data[offset : offset + width] = value.to_bytes(width, "big")
        try:
            reader = parse_dcf(bytes(data))
        except DcfFormatError as exc:
            assert exc.box and exc.offset >= 0
            continue
        # Only a PlaintextLength with the same padded length (17..31) parses; the padding
        # check then refuses it.
        assert name == "PlaintextLength" and 16 <= value < 32, (name, value)
        with pytest.raises(DcfKeyError):
            reader.decrypt(KEY)


def test_absurd_lengths_are_refused_before_allocating() -> None:
    cases = []
    for name in ("odrm largesize", "odda largesize", "EncryptedDataLength", "PlaintextLength"):
        offset, width = _length_fields()[name]
        for value in (1 << 63, (1 << 64) - 1):
            data = bytearray(VALID)
            data[offset : offset + width] = value.to_bytes(width, "big")
            cases.append(bytes(data))
    tracemalloc.start()
    try:
        for case in cases:
            with pytest.raises(DcfFormatError):
                parse_dcf(case)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


# --- structure -----------------------------------------------------------------------------------


def expect(
    error: type[DcfFormatError], data: bytes, box: str | None = None, **kw: object
) -> DcfFormatError:
    with pytest.raises(error) as info:
        parse_dcf(data, **kw)  # type: ignore[arg-type]
    if box is not None:
        assert info.value.box == box
    assert f"{info.value.box} at offset {info.value.offset}" in str(info.value)
    return info.value


def test_first_box_must_be_ftyp() -> None:
    err = expect(DcfBoxError, box(b"moov", b"") + VALID, "moov")
    assert err.offset == 0


def test_brand() -> None:
    expect(DcfUnsupportedError, dcf(ftyp=box(b"ftyp", b"isom\0\0\0\0isom")), "ftyp")
    only_compatible = dcf(ftyp=box(b"ftyp", b"isom\0\0\0\0isomodcf"))
    assert parse_dcf(only_compatible).decrypt(KEY) == PLAIN
    expect(DcfBoxError, dcf(ftyp=box(b"ftyp", b"odcf\0\0\0\0od")), "ftyp")
    expect(DcfBoxError, dcf(ftyp=box(b"ftyp", b"odcf")), "ftyp")
    expect(DcfLimitError, dcf(ftyp=box(b"ftyp", b"odcf\0\0\0\0" + b"odcf" * 300)), "ftyp")


def test_versions_other_than_zero() -> None:
    expect(DcfUnsupportedError, dcf(odrm_version=1), "odrm")
    expect(
        DcfUnsupportedError,
        dcf(children=odhe(children=ohdr(version=1)) + odda()),
        "odrm/odhe/ohdr",
    )
    expect(DcfUnsupportedError, dcf(children=odhe() + odda(version=2)), "odrm/odda")
    odhe_v1 = bytearray(odhe())
    odhe_v1[8] = 1
    expect(DcfUnsupportedError, dcf(children=bytes(odhe_v1) + odda()), "odrm/odhe")


def test_encryption_method_and_padding() -> None:
    err = expect(
        DcfUnsupportedError, dcf(children=odhe(children=ohdr(method=2)) + odda()), "odrm/odhe/ohdr"
    )
    assert "EncryptionMethod 2" in str(err)
    expect(DcfUnsupportedError, dcf(children=odhe(children=ohdr(method=0)) + odda()))
    expect(DcfUnsupportedError, dcf(children=odhe(children=ohdr(padding=0)) + odda()))


def test_multipart_and_missing_boxes() -> None:
    odrm = VALID[20:]
    expect(DcfUnsupportedError, VALID + odrm, "odrm")
    expect(DcfTruncatedError, FTYP, "odrm")
    expect(DcfTruncatedError, FTYP + box(b"free", b""), "odrm")
    expect(DcfBoxError, FTYP + FTYP, "ftyp")
    expect(DcfBoxError, dcf(children=odhe()), "odrm")
    expect(DcfBoxError, dcf(children=odda()), "odrm/odda")
    expect(DcfBoxError, dcf(children=odda() + odhe()), "odrm/odda")
    expect(DcfBoxError, dcf(children=odhe() + odhe() + odda()), "odrm/odhe")
    expect(DcfBoxError, dcf(children=odhe() + odda() + odda()), "odrm/odda")
    expect(DcfBoxError, dcf(children=odhe() + odda() + odhe()), "odrm/odhe")
    expect(DcfBoxError, dcf(children=odhe(children=b"") + odda()), "odrm/odhe")
    expect(DcfBoxError, dcf(children=odhe(children=ohdr() + ohdr()) + odda()), "odrm/odhe")


def test_size_zero_box_is_refused() -> None:
    err = expect(DcfUnsupportedError, VALID + struct.pack(">I4s", 0, b"mdat") + b"xx", "mdat")
    assert err.offset == len(VALID)


def test_box_sizes_inside_parents() -> None:
    expect(DcfBoxError, VALID + struct.pack(">I4s", 4, b"free"), "free")
    expect(DcfBoxError, dcf(children=odhe() + odda() + b"\0\0\0"), "odrm/?")
    overrun = struct.pack(">I4s", 4000, b"free")
    expect(DcfBoxError, dcf(children=odhe() + overrun + odda()), "odrm/free")
    expect(DcfBoxError, dcf(children=odhe(children=ohdr() + b"\0" * 5) + odda()), "odrm/odhe/?")
    expect(DcfBoxError, dcf(children=odhe(children=ohdr(extended=b"xx")) + odda()))
    expect(DcfBoxError, dcf(children=full(b"odhe", b"") + odda()), "odrm/odhe")
    expect(DcfBoxError, dcf(children=full(b"odhe", b"\x10abc") + odda()), "odrm/odhe")
    expect(DcfBoxError, dcf(children=odhe() + full(b"odda", b"", large=True)), "odrm/odda")
    expect(DcfBoxError, dcf(children=odhe(children=full(b"ohdr", b"\x01\x01")) + odda()))
    long_strings = odhe(children=ohdr()[:-4])  # ohdr shorter than its string lengths claim
    expect(DcfBoxError, dcf(children=long_strings + odda()))
    expect(DcfBoxError, dcf(children=odhe() + odda() + struct.pack(">I4sQ", 1, b"free", 8)))


def test_unknown_well_formed_boxes_are_skipped() -> None:
    free = box(b"free", b"\0" * 5)
    uuid_box = box(b"uuid", bytes(16) + b"payload")
    ext = box(b"grpi", b"x" * 10)
    data = dcf(
        children=free + odhe(children=free + ohdr(extended=ext) + uuid_box) + free + odda() + free,
        after=box(b"mdri", b"") + uuid_box,
    )
    assert parse_dcf(data).decrypt(KEY) == PLAIN
    expect(DcfBoxError, dcf(children=odhe() + odda(), after=box(b"uuid", b"short")), "uuid")


def test_encrypted_data_lengths() -> None:
    ct = encrypt(PLAIN)
    expect(DcfLengthError, dcf(children=odhe() + odda(ct, edl=len(ct) - 1)), "odrm/odda")
    expect(DcfLengthError, dcf(children=odhe() + odda(ct + b"x" * 16)), "odrm/odda")
    expect(DcfLengthError, dcf(children=odhe() + odda(ct[:-1])), "odrm/odda")
    expect(DcfLengthError, dcf(children=odhe() + odda(IV)), "odrm/odda")
    expect(DcfLengthError, dcf(children=odhe() + odda(b"")), "odrm/odda")
    err = expect(
        DcfLengthError,
        dcf(children=odhe(children=ohdr(plaintext_length=40)) + odda()),
        "odrm/odda",
    )
    assert "PlaintextLength 40" in str(err)


def test_odda_with_a_32_bit_size_is_read() -> None:
    ct = encrypt(PLAIN)
    small = full(b"odda", struct.pack(">Q", len(ct)) + ct)
    assert parse_dcf(dcf(children=odhe() + small)).decrypt(KEY) == PLAIN


# --- header strings and limits -------------------------------------------------------------------


@pytest.mark.parametrize(
    "children",
    [
        ohdr(textual=b"MBMS-Key-ID:00f110000100020003"),  # no final NUL
        ohdr(textual=b"NoColon\0"),
        ohdr(textual=b"\0"),
        ohdr(textual=b"A:1\0\0"),
        ohdr(textual=b":value\0"),
        ohdr(textual=b"Bad Name:1\0"),
        ohdr(textual=b"A:\xff\xfe\0"),
        ohdr(textual=b"A:line\nbreak\0"),
        ohdr(textual=b"A:1\0a:2\0"),
        ohdr(textual=b"MBMS-Key-ID:00f11000010002000\0"),
        ohdr(textual=b"MBMS-Key-ID:00f1100001000200030\0"),
        ohdr(textual=b"MBMS-Key-ID:00f11000010002zzzz\0"),
        ohdr(textual=b"MBMS-Key-ID:00f110000100020000\0"),  # MTK ID 0 is reserved
        ohdr(textual=b"mbms-key-id:00f110000100020003\0MBMS-Key-ID:00f110000100020003\0"),
        ohdr(cid=b"cid:\x00@x"),
        ohdr(cid=b"cid:\xc3\xa9@x"),
        ohdr(riu=b"http://x/\x7f"),
    ],
)
def test_bad_header_strings(children: bytes) -> None:
    expect(DcfHeaderError, dcf(children=odhe(children=children) + odda()), "odrm/odhe/ohdr")


def test_bad_content_type() -> None:
    expect(DcfHeaderError, dcf(children=odhe(content_type=b"a/\x01") + odda()), "odrm/odhe")


def test_header_values_accepted() -> None:
    data = dcf(
        children=odhe(
            content_type=b"",
            children=ohdr(textual=b"mbms-key-id:00F110000100020003\0X-Tab:a\tb\0U:\xc3\xa9\0"),
        )
        + odda()
    )
    reader = parse_dcf(data)
    assert reader.textual_headers == {
        "mbms-key-id": "00F110000100020003",
        "X-Tab": "a\tb",
        "U": "é",
    }
    assert reader.mbms_key_id is not None and reader.mbms_key_id.mtk_id == MtkId(3)
    no_key_id = dcf(children=odhe(children=ohdr(textual=b"", cid=b"", riu=b"")) + odda())
    assert parse_dcf(no_key_id).mbms_key_id is None


@pytest.mark.parametrize(
    ("limits", "children"),
    [
        (DcfLimits(max_content_id=10), ohdr()),
        (DcfLimits(max_rights_issuer_url=10), ohdr()),
        (DcfLimits(max_textual_headers=10), ohdr()),
        (DcfLimits(max_odhe_size=50), ohdr()),
    ],
)
def test_limits(limits: DcfLimits, children: bytes) -> None:
    expect(DcfLimitError, dcf(children=odhe(children=children) + odda()), limits=limits)


def test_default_limits_on_u16_lengths() -> None:
    big = ohdr(cid=b"c" * 60000)
    expect(DcfLimitError, dcf(children=odhe(children=big) + odda()), "odrm/odhe/ohdr")
    too_big = ohdr(cid=b"c" * 60000, riu=b"r" * 6000)
    expect(DcfLimitError, dcf(children=odhe(children=too_big) + odda()), "odrm/odhe")
    fits_odhe_but_not_field = ohdr(textual=b"A:" + b"v" * 20000 + b"\0")
    expect(DcfLimitError, dcf(children=odhe(children=fits_odhe_but_not_field) + odda()))


def test_many_tiny_boxes_hit_the_box_limit() -> None:
    frees = box(b"free", b"") * 300
    expect(DcfLimitError, dcf(children=odhe() + odda(), after=frees))
    expect(DcfLimitError, dcf(children=frees + odhe() + odda()))
    parse_dcf(dcf(children=odhe() + odda(), after=frees), limits=DcfLimits(max_boxes=400))


def test_limits_validate_themselves() -> None:
    with pytest.raises(ValueError):
        DcfLimits(max_content_id=70000)
    with pytest.raises(ValueError):
        DcfLimits(max_boxes=0)


def test_non_seekable_input_is_a_usage_error() -> None:
    class Pipe(io.RawIOBase):
        def readable(self) -> bool:
            return True

    with pytest.raises(ValueError, match="seekable"):
        parse_dcf(Pipe())  # type: ignore[arg-type]


def test_file_that_shrinks_after_parsing() -> None:
    f = io.BytesIO(VALID)
    reader = parse_dcf(f)
    f.truncate(len(VALID) - 20)
    with pytest.raises(DcfTruncatedError):
        reader.decrypt(KEY)


def test_error_messages_carry_no_key_material() -> None:
    for data in (VALID[:50], dcf(children=odhe() + odda(version=1))):
        try:
            parse_dcf(data)
        except DcfError as exc:
            assert KEY.hex() not in str(exc) and KEY not in str(exc).encode("latin-1", "replace")
    try:
        parse_dcf(VALID).decrypt(WRONG_KEY)
    except DcfKeyError as exc:
        assert WRONG_KEY.hex() not in str(exc)
