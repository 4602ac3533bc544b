"""The three example configurations work together: ``mbms serve``
(broadcast/config/examples/bmsc.toml), ``mbms stream`` (broadcast/config/examples/stream.toml) and
``mbms carousel`` (broadcast/config/examples/carousel.toml) name one store file, one Key Domain, and
Key Groups the BM-SC example defines with the right kind (the carousel's a download group, the
stream's a streaming group whose SRTP policy is the stream's)."""

from __future__ import annotations

from pathlib import Path

from broadcast.config.bmsc import load as load_bmsc
from broadcast.config.carousel import CarouselConfig
from broadcast.config.carousel import load_config as load_carousel
from broadcast.config.srtp import srtp_policy
from broadcast.config.stream import StreamConfig
from broadcast.config.stream import load_config as load_stream
from broadcast.engine.bmsc.settings import BmscConfig
from broadcast.engine.keys.mtk import MtkIssuer
from broadcast.store.keys import SQLiteKeyStore

ROOT = Path(__file__).resolve().parents[2] / "broadcast"


def _examples() -> tuple[BmscConfig, StreamConfig, CarouselConfig]:
    bmsc = load_bmsc(ROOT / "config" / "examples" / "bmsc.toml")
    stream = load_stream(ROOT / "config" / "examples" / "stream.toml")
    carousel = load_carousel(ROOT / "config" / "examples" / "carousel.toml")
    return bmsc, stream, carousel


def test_one_store_one_key_domain_matching_key_groups() -> None:
    bmsc, stream, carousel = _examples()
    assert carousel.store_path is not None
    store = Path(bmsc.store).resolve()
    assert stream.keys.store.resolve() == store == carousel.store_path.resolve()
    assert bmsc.key_domain == stream.keys.key_domain == carousel.key_domain
    download = bmsc.group(carousel.key_group)
    streaming = bmsc.group(stream.keys.key_group)
    assert download is not None and not download.streaming
    assert streaming is not None and streaming.streaming
    assert streaming.policy() == srtp_policy(stream.srtp)
    # The carousel's DCFs point at the BM-SC's key management URI and FQDN.
    path = bmsc.http.path
    assert carousel.key_management_uri == f"http://{bmsc.http.listen}:{bmsc.http.port}{path}"
    assert carousel.bmsc_fqdn == bmsc.fqdn


def test_the_groups_the_bmsc_creates_serve_the_stream_and_the_carousel(tmp_path: Path) -> None:
    """As ``mbms serve`` creates the groups first: stream and carousel accept them as they are."""
    bmsc, stream, carousel = _examples()
    with SQLiteKeyStore(tmp_path / "shared.sqlite") as store:
        kd = bmsc.key_domain
        store.add_key_domain(kd)
        for group in bmsc.key_groups:
            store.add_key_group(kd, group.number, streaming=group.streaming)
        msk = MtkIssuer(store, kd, stream.keys.key_group, streaming=True).ensure()  # no error
        assert msk.msk_id.key_group == 2
        # a download group: fine
        issued = MtkIssuer(store, kd, carousel.key_group, streaming=False).ensure()
        assert issued.msk_id.key_group == 1
