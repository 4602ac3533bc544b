"""Known answer: fixed key, uuid and IV; the expected DCF is rebuilt here independently with
``struct`` and the raw AES-CBC primitive (manual PKCS#7, manual UUID v4 bits), box by box as
OMA-TS-DRM-DCF-V2_0 and profile.md lay it out."""

from __future__ import annotations

import struct
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from broadcast.proto.dcf import DcfWriter, MbmsKeyId, mbms_headers, parse_dcf, protect_bytes
from broadcast.proto.keys import KeyDomainId, MskId, Mtk, MtkId

KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
UUID_BYTES = bytes.fromhex("101112131415161718191a1b1c1d1e1f")
IV = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf")
PLAINTEXT = b"MBMS download, OMA DCF known answer\n" * 3  # 108 bytes
FQDN = "bmsc.mnc001.mcc001.pub.3gppnetwork.org"
KM_URI = "http://bmsc.mnc001.mcc001.pub.3gppnetwork.org/keymanagement"
CONTENT_TYPE = "video/mp4"
KEY_ID = MbmsKeyId(KeyDomainId(bytes.fromhex("00f110")), MskId(0x0001, 0x0007), MtkId(0x0102))


def fixed_rand(*chunks: bytes) -> Callable[[int], bytes]:
    queue = list(chunks)

    def rand(n: int) -> bytes:
        out = queue.pop(0)
        assert len(out) == n
        return out

    return rand


def expected_uuid_text(raw: bytes) -> str:
    b = bytearray(raw)
    b[6] = (b[6] & 0x0F) | 0x40  # version 4
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def expected_dcf() -> bytes:
    content_id = f"cid:{expected_uuid_text(UUID_BYTES)}@{FQDN}".encode()
    riu = KM_URI.encode()
    textual = b"MBMS-Key-ID:00f110000100070102\x00"
    pad = 16 - len(PLAINTEXT) % 16
    enc = Cipher(algorithms.AES(KEY), modes.CBC(IV)).encryptor()
    ciphertext = enc.update(PLAINTEXT + bytes([pad]) * pad) + enc.finalize()
    encrypted_data = IV + ciphertext

    ftyp = struct.pack(">I4s4sI4s", 20, b"ftyp", b"odcf", 2, b"odcf")
    ohdr_body = (
        struct.pack(">I", 0)  # version 0, flags 0
        + struct.pack(">BBQHHH", 1, 1, len(PLAINTEXT), len(content_id), len(riu), len(textual))
        + content_id
        + riu
        + textual
    )
    ohdr = struct.pack(">I4s", 8 + len(ohdr_body), b"ohdr") + ohdr_body
    odhe_body = struct.pack(">IB", 0, len(CONTENT_TYPE)) + CONTENT_TYPE.encode() + ohdr
    odhe = struct.pack(">I4s", 8 + len(odhe_body), b"odhe") + odhe_body
    odda_body = struct.pack(">IQ", 0, len(encrypted_data)) + encrypted_data
    odda = struct.pack(">I4sQ", 1, b"odda", 16 + len(odda_body)) + odda_body
    odrm_body = struct.pack(">I", 0) + odhe + odda
    odrm = struct.pack(">I4sQ", 1, b"odrm", 16 + len(odrm_body)) + odrm_body
    return ftyp + odrm


def test_protect_bytes_matches_independent_construction() -> None:
    got = protect_bytes(
        PLAINTEXT,
        key=Mtk(KEY),
        key_id=KEY_ID,
        bmsc_fqdn=FQDN,
        key_management_uri=KM_URI,
        content_type=CONTENT_TYPE,
        rand=fixed_rand(UUID_BYTES, IV),
    )
    want = expected_dcf()
    assert got.hex() == want.hex()


def test_streaming_writer_matches_and_reports_total_size() -> None:
    headers = mbms_headers(
        key_id=KEY_ID,
        bmsc_fqdn=FQDN,
        key_management_uri=KM_URI,
        content_type=CONTENT_TYPE,
        rand=fixed_rand(UUID_BYTES),
    )
    chunks = [PLAINTEXT[i : i + 7] for i in range(0, len(PLAINTEXT), 7)]
    writer = DcfWriter(
        chunks, headers, Mtk(KEY), plaintext_length=len(PLAINTEXT), rand=fixed_rand(IV)
    )
    want = expected_dcf()
    assert writer.total_size == len(want)
    assert b"".join(writer) == want


def test_literal_bytes_of_the_vector() -> None:
    dcf = expected_dcf()
    # ftyp: size 20, major brand odcf, minor version 2, compatible brand odcf
    assert dcf[:20] == bytes.fromhex("00000014 66747970 6f646366 00000002 6f646366")
    # odrm: size 1 (largesize follows), version 0, flags 0
    assert dcf[20:28] == bytes.fromhex("00000001 6f64726d")
    assert dcf[36:40] == bytes(4)
    # odhe at 40: version/flags 0, ContentTypeLength 9, "video/mp4", then ohdr
    assert dcf[44:62] == b"odhe" + bytes.fromhex("00000000 09") + b"video/mp4"
    assert dcf[66:74] == b"ohdr" + bytes(4)
    # ohdr fields: AES_128_CBC, RFC 2630, PlaintextLength 108, lengths 79, 59, 31
    assert dcf[74:90] == bytes.fromhex("01 01 000000000000006c 004f 003b 001f")
    assert dcf[-(16 + 112 + 28) :][:8] == bytes.fromhex("00000001 6f646461")
    assert dcf[-(16 + 112) :][:16] == IV


def test_reader_on_known_answer() -> None:
    reader = parse_dcf(expected_dcf())
    assert reader.content_type == CONTENT_TYPE
    assert reader.encryption_method == 1
    assert reader.padding_scheme == 1
    assert reader.plaintext_length == len(PLAINTEXT)
    assert reader.encrypted_data_length == 16 + 112
    # UUID v4 from 10 11 .. 1f: byte 6 -> 0x46 (version), byte 8 -> 0x98 (variant)
    assert reader.content_id == f"cid:10111213-1415-4617-9819-1a1b1c1d1e1f@{FQDN}"
    assert reader.rights_issuer_url == KM_URI
    assert reader.textual_headers == {"MBMS-Key-ID": "00f110000100070102"}
    assert reader.mbms_key_id == KEY_ID
    assert reader.iv == IV
    assert reader.decrypt(Mtk(KEY)) == PLAINTEXT
    assert reader.decrypt(KEY) == PLAINTEXT
