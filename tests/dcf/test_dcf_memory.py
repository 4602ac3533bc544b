"""Bounded memory: a 20 MiB content goes through file objects with a small traced peak."""

from __future__ import annotations

import hashlib
import random
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

from broadcast.proto.dcf import DcfHeaders, DcfWriter, MbmsKeyId, mbms_headers, parse_dcf
from broadcast.proto.keys import KeyDomainId, MskId, Mtk, MtkId

SIZE = 20 * 1024 * 1024 + 5
PEAK_LIMIT = 8 * 1024 * 1024
KEY = Mtk(bytes.fromhex("00112233445566778899aabbccddeeff"))
KEY_ID = MbmsKeyId(KeyDomainId.from_plmn("262", "01"), MskId(9, 1), MtkId(42))


def generated_chunks(size: int, seed: int = 1) -> Iterator[bytes]:
    rng = random.Random(seed)
    left = size
    while left:
        n = min(left, 1 << 20)
        yield rng.randbytes(n)
        left -= n


class HashSink:
    """A write-only file object that keeps only a digest and a count."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.count = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.count += len(data)
        return len(data)


def traced_peak(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def headers() -> DcfHeaders:
    return mbms_headers(
        key_id=KEY_ID,
        bmsc_fqdn="bmsc.example.org",
        key_management_uri="http://bmsc.example.org/keys",
        content_type="video/mp4",
    )


def test_twenty_mib_through_files(tmp_path: Path) -> None:
    plain_path, dcf_path = tmp_path / "content.mp4", tmp_path / "content.dcf"
    want = hashlib.sha256()
    with plain_path.open("wb") as f:
        for chunk in generated_chunks(SIZE):
            want.update(chunk)
            f.write(chunk)

    def write() -> None:
        with plain_path.open("rb") as src, dcf_path.open("wb") as dst:
            writer = DcfWriter(src, headers(), KEY, plaintext_length=SIZE)
            assert writer.write_to(dst) == writer.total_size

    assert traced_peak(write) < PEAK_LIMIT
    assert dcf_path.stat().st_size > SIZE

    sink = HashSink()

    def read() -> None:
        with dcf_path.open("rb") as f:
            reader = parse_dcf(f)
            assert reader.plaintext_length == SIZE
            for chunk in reader.iter_decrypt(KEY):
                sink.write(chunk)

    assert traced_peak(read) < PEAK_LIMIT
    assert sink.count == SIZE
    assert sink.digest.hexdigest() == want.hexdigest()


def test_twenty_mib_from_an_iterator_of_chunks() -> None:
    sink = HashSink()

    def write() -> None:
        writer = DcfWriter(generated_chunks(SIZE, seed=2), headers(), KEY, plaintext_length=SIZE)
        for out in writer:
            sink.write(out)

    assert traced_peak(write) < PEAK_LIMIT
    assert sink.count == DcfWriter([], headers(), KEY, plaintext_length=SIZE).total_size
