"""RFC 5052 §9.1 and RFC 5053 §5.3.1.2 share one partition: Partition[I, J] and the source
block layout (broadcast.proto.flute.fec.partition) serve Compact No-Code and Raptor alike; only the
number of blocks differs (ceil(T/B) vs Z from the Raptor OTI)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast.proto.flute.fec.partition import BlockPartition, partition
from broadcast.proto.flute.fec.raptor_partition import RaptorOti, RaptorPartition


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**7), st.integers(1, 5000))
def test_partition_is_ceil_floor_and_adds_up(i: int, j: int) -> None:
    il, is_, jl, js = partition(i, j)
    assert (il, is_) == (-(-i // j), i // j)
    assert jl + js == j and 0 <= jl < j
    assert jl * il + js * is_ == i


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_raptor_source_blocks_are_the_rfc5052_layout(data: st.DataObject) -> None:
    t = 4 * data.draw(st.integers(1, 64), label="T/4")
    kt = data.draw(st.integers(4, 200_000), label="Kt")
    z = data.draw(st.integers(-(-kt // 8192), kt // 4), label="Z")  # 4 <= K <= 8192
    f = data.draw(st.integers((kt - 1) * t + 1, kt * t), label="F")
    part = RaptorPartition.compute(RaptorOti(f, t, z, 1, 4))
    kl, ks, zl, _ = partition(kt, z)
    assert part.source == BlockPartition(f, t, kl, kt, z, zl, kl, ks)
    if -(-kt // kl) == z:  # Z is what RFC 5052 step 1 derives from B = KL: the very same object
        assert part.source == BlockPartition.compute(f, t, kl)
    offsets = [part.block_offset(s) for s in range(part.blocks)]
    lengths = [part.block_data_length(s) for s in range(part.blocks)]
    assert offsets == [sum(lengths[:s]) for s in range(part.blocks)]
    assert sum(lengths) == f


def test_z_need_not_be_the_rfc5052_block_count() -> None:
    # Kt = 30 symbols: Raptor with Z = 7 is Partition[30, 7] = 2 blocks of 5, 5 blocks of 4;
    # RFC 5052 with B = KL = 5 would derive N = 6 blocks of 5. Same Partition[], other N.
    part = RaptorPartition.compute(RaptorOti(30 * 8, 8, 7, 1, 4))
    assert [part.block_symbols(s) for s in range(part.blocks)] == [5, 5, 4, 4, 4, 4, 4]
    nocode = BlockPartition.compute(30 * 8, 8, part.large_length)
    assert [nocode.block_symbols(s) for s in range(nocode.blocks)] == [5] * 6
