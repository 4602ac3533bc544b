"""The three example configurations work together: ``mbms serve``
(broadcast/config/examples/bmsc.toml), ``mbms stream`` (broadcast/config/examples/stream.toml) and
``mbms carousel`` (broadcast/config/examples/carousel.toml) name one store file, one Key Domain, and
Key Groups the BM-SC example defines with the right kind (the carousel's a download group, the
stream's a streaming group whose SRTP policy — stored with the group by ``mbms serve`` — the
stream's [srtp] agrees with)."""

from __future__ import annotations

from pathlib import Path

from testkit import EXAMPLES_DIR

from broadcast.config.bmsc import load as load_bmsc
from broadcast.config.carousel import CarouselConfig
from broadcast.config.carousel import load_config as load_carousel
from broadcast.config.stream import StreamConfig, session_srtp
from broadcast.config.stream import load_config as load_stream
from broadcast.engine.bmsc.settings import BmscConfig
from broadcast.engine.keys.mtk import MtkIssuer
from broadcast.store.keys import SQLiteKeyStore


def _examples() -> tuple[BmscConfig, StreamConfig, CarouselConfig]:
    bmsc = load_bmsc(EXAMPLES_DIR / "bmsc.toml")
    stream = load_stream(EXAMPLES_DIR / "stream.toml")
    carousel = load_carousel(EXAMPLES_DIR / "carousel.toml")
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
    assert streaming.srtp_config() == stream.srtp
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
            store.add_key_group(
                kd, group.number, streaming=group.streaming, srtp=group.srtp_config()
            )
        msk = MtkIssuer(store, kd, stream.keys.key_group, streaming=True).ensure()  # no error
        assert msk.msk_id.key_group == 2
        # The stream's [srtp] agrees with the policy the BM-SC stored with the group.
        group = store.get_key_group(kd, stream.keys.key_group)
        assert session_srtp(stream, group) == group.srtp == stream.srtp
        # a download group: fine
        issued = MtkIssuer(store, kd, carousel.key_group, streaming=False).ensure()
        assert issued.msk_id.key_group == 1
