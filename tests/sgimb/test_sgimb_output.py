"""DatagramOutput on loopback (127.21.x.x): batches of mixed and equal sizes, GSO against a
sendto loop, large batches, empty batches, errors counted not raised, mixed destinations,
the asyncio path. Every test runs on the native path and on the sendto fallback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from sgimb_support import (
    HOST_RX,
    HOST_TX,
    assert_nothing_more,
    equal_size,
    receive,
    receiver,
    video_mix,
)

from broadcast.aio.sgimb.output import DatagramOutput
from broadcast.config.output import OutputConfig


@pytest.fixture(params=[True, False], ids=["native", "sendto"])
def output(request: pytest.FixtureRequest) -> Iterator[DatagramOutput]:
    out = DatagramOutput(OutputConfig(source=HOST_TX, native=request.param))
    assert out.native is request.param
    yield out
    out.close()


@pytest.fixture
def rx() -> Iterator[socket.socket]:
    with receiver() as sock:
        yield sock


def _payloads(got: list[tuple[bytes, tuple[str, int]]]) -> list[bytes]:
    return [d for d, _ in got]


def test_native_path_is_the_default() -> None:
    with DatagramOutput() as out:
        assert out.native
        assert out.gso  # Linux >= 4.18 with UDP_SEGMENT


def test_mixed_sizes_arrive_in_order_from_the_source(
    output: DatagramOutput, rx: socket.socket
) -> None:
    batch = video_mix(500)
    assert output.send_batch(batch, rx.getsockname()) == 500
    got = receive(rx, 500)
    assert _payloads(got) == batch
    assert {src for _, src in got} == {output.local_address}
    assert output.local_address[0] == HOST_TX
    assert output.stats.datagrams == 500
    assert output.stats.bytes == sum(map(len, batch))
    assert output.stats.errors == 0
    assert_nothing_more(rx)


def test_equal_sizes_leave_as_gso_messages(rx: socket.socket) -> None:
    batch = [*equal_size(200), b"tail"]
    with DatagramOutput(OutputConfig(source=HOST_TX)) as out:
        assert out.send_batch(batch, rx.getsockname()) == 201
        # 200 + 1 shorter: runs of 64, 64, 64, 8+1 -> 4 GSO messages in one sendmmsg
        assert out.stats.gso_messages == 4
        assert out.stats.syscalls == 1
    assert _payloads(receive(rx, 201)) == batch
    assert_nothing_more(rx)


@pytest.mark.parametrize("make", [equal_size, video_mix], ids=["equal", "video"])
def test_gso_receiving_side_identical_to_sendto(rx: socket.socket, make: object) -> None:
    batch = make(700)  # type: ignore[operator]
    dest = rx.getsockname()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as plain:
        plain.bind((HOST_TX, 0))
        for d in batch:
            plain.sendto(d, dest)
    reference = receive(rx, len(batch))
    with DatagramOutput(OutputConfig(source=HOST_TX, gso=True)) as gso_out:
        gso_out.send_batch(batch, dest)
        assert gso_out.stats.gso_messages > 0
        ours = receive(rx, len(batch))
    with DatagramOutput(OutputConfig(source=HOST_TX, gso=False)) as mmsg_out:
        mmsg_out.send_batch(batch, dest)
        assert mmsg_out.stats.gso_messages == 0
        plain_mmsg = receive(rx, len(batch))
    assert _payloads(ours) == _payloads(reference) == _payloads(plain_mmsg) == batch
    assert_nothing_more(rx)


def test_batch_larger_than_a_slice(output: DatagramOutput, rx: socket.socket) -> None:
    batch = video_mix(5000)  # > 4,096 (one GIL release) and > 1,024 (one sendmmsg)
    assert output.send_batch(batch, rx.getsockname()) == 5000
    assert _payloads(receive(rx, 5000)) == batch
    if output.native:
        assert output.stats.syscalls >= 2


def test_empty_batch_sends_nothing(output: DatagramOutput, rx: socket.socket) -> None:
    assert output.send_batch([], rx.getsockname()) == 0
    assert output.send_many([]) == 0
    assert output.stats.datagrams == output.stats.errors == output.stats.syscalls == 0
    assert_nothing_more(rx)


def test_oversize_datagram_counted_not_raised(output: DatagramOutput, rx: socket.socket) -> None:
    batch = [b"first", b"x" * 70_000, b"third" * 300, b"fourth" * 250]
    assert output.send_batch(batch, rx.getsockname()) == 3
    assert output.stats.errors == 1
    assert "EMSGSIZE" in output.stats.last_error
    assert _payloads(receive(rx, 3)) == [batch[0], batch[2], batch[3]]


def test_empty_datagram_is_sent(output: DatagramOutput, rx: socket.socket) -> None:
    batch = [b"a" * 1000, b"", b"a" * 1000, b"a" * 1000]
    assert output.send_batch(batch, rx.getsockname()) == 4
    assert _payloads(receive(rx, 4)) == batch


def test_send_one(output: DatagramOutput, rx: socket.socket) -> None:
    output.send(b"hello", rx.getsockname())
    assert _payloads(receive(rx, 1)) == [b"hello"]
    assert output.stats.datagrams == 1


def test_send_many_mixed_destinations(output: DatagramOutput) -> None:
    with receiver(HOST_RX) as mikey, receiver("127.21.0.3") as rtp:
        items = [
            (d, mikey.getsockname() if i % 5 == 0 else rtp.getsockname())
            for i, d in enumerate(equal_size(300))
        ]
        assert output.send_many(items) == 300
        to_mikey = [d for d, a in items if a == mikey.getsockname()]
        to_rtp = [d for d, a in items if a == rtp.getsockname()]
        assert _payloads(receive(mikey, len(to_mikey))) == to_mikey
        assert _payloads(receive(rtp, len(to_rtp))) == to_rtp


def test_async_send_yields_and_delivers(output: DatagramOutput, rx: socket.socket) -> None:
    batch = video_mix(3000)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        for _ in range(1000):
            ticks += 1
            await asyncio.sleep(0)

    async def main() -> tuple[int, int]:
        task = asyncio.create_task(ticker())
        sent = await output.send_batch_async(batch, rx.getsockname())
        many = await output.send_many_async([(b"m1", rx.getsockname()), (b"m2", rx.getsockname())])
        task.cancel()
        return sent, many

    assert asyncio.run(main()) == (3000, 2)
    assert ticks >= 2  # the loop ran other tasks between the slices
    assert _payloads(receive(rx, 3002)) == [*batch, b"m1", b"m2"]


def test_closed_output_counts_errors(rx: socket.socket) -> None:
    out = DatagramOutput(OutputConfig(source=HOST_TX))
    out.close()
    out.close()
    assert out.send_batch([b"a", b"b"], rx.getsockname()) == 0
    assert out.send_many([(b"c", rx.getsockname())]) == 0
    assert asyncio.run(out.send_batch_async([b"d"], rx.getsockname())) == 0
    assert out.stats.errors == 4
    assert "closed" in out.stats.last_error
    assert_nothing_more(rx)


def test_hostname_destination_resolves(output: DatagramOutput, rx: socket.socket) -> None:
    port = rx.getsockname()[1]
    with receiver("127.0.0.1") as local:
        output.send_batch([b"via name"], ("localhost", local.getsockname()[1]))
        assert _payloads(receive(local, 1)) == [b"via name"]
    assert port  # the 127.21 receiver stays unused
    assert_nothing_more(rx)


def test_bad_destination_port_is_a_programming_error(output: DatagramOutput) -> None:
    with pytest.raises(ValueError, match="destination port"):
        output.send_batch([b"x"], (HOST_RX, 70000))
