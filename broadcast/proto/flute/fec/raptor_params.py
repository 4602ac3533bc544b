"""Raptor (RFC 5053) code parameters and generators, in readable Python.

This is the documenting path of the algorithm; the codec itself runs in ``broadcast._native.raptor``
(which implements the same functions in C and is checked against these in the tests).

- §5.4.2.3: for K source symbols, X is the smallest positive integer with X·(X-1) >= 2K; S (LDPC
  symbols) the smallest prime >= ceil(0.01·K) + X; H (Half symbols) the smallest integer with
  choose(H, ceil(H/2)) >= K + S; L = K + S + H intermediate symbols; L' the smallest prime >= L.
- §5.4.4.1 Rand[Y, i, m] = (V0[(Y + i) % 256] ^ V1[(floor(Y/256) + i) % 256]) % m.
- §5.4.4.2 Deg[v] from Table 1.
- §5.4.4.4 Trip[K, X] = (d, a, b) with A = (53591 + J(K)·997) % Q, B = 10267·(J(K) + 1) % Q,
  Y = (B + X·A) % Q, Q = 65521: d = Deg[Rand[Y, 0, 2^20]], a = 1 + Rand[Y, 1, L'-1],
  b = Rand[Y, 2, L'].
- §5.4.4.3 LTEnc[K, C, (d, a, b)] XORs min(d, L) distinct intermediate symbols, walking
  b ← (b + a) % L' and skipping indices >= L.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import comb

from broadcast.proto.flute.errors import BadOti
from broadcast.proto.flute.fec import raptor_tables as tables


@dataclass(frozen=True, slots=True)
class CodeParameters:
    """The per-K parameters of RFC 5053 §5.4.2.3 and the systematic index J(K) (§5.7)."""

    K: int
    X: int
    S: int
    H: int
    H_prime: int
    L: int
    L_prime: int
    J: int


@dataclass(frozen=True, slots=True)
class Triple:
    """An encoding triple (d, a, b) of §5.4.4.4."""

    d: int
    a: int
    b: int


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    f = 3
    while f * f <= n:
        if n % f == 0:
            return False
        f += 2
    return True


def _next_prime(n: int) -> int:
    while not _is_prime(n):
        n += 1
    return n


def check_k(K: int) -> None:
    """Raise :class:`BadOti` unless 4 <= K <= 8192 (J(K) exists only there, §5.7)."""
    if not tables.K_MIN <= K <= tables.K_MAX:
        raise BadOti(
            f"a Raptor source block has {tables.K_MIN}..{tables.K_MAX} symbols, not {K}",
            field="K",
        )


def systematic_index(K: int) -> int:
    """J(K) (§5.7)."""
    check_k(K)
    return tables.SYSTEMATIC_INDEX[K - tables.K_MIN]


@lru_cache(maxsize=256)
def code_parameters(K: int) -> CodeParameters:
    """X, S, H, H', L, L' for K source symbols (§5.4.2.3); ceil(0.01·K) in integers."""
    check_k(K)
    X = 1
    while X * (X - 1) < 2 * K:
        X += 1
    S = _next_prime((K + 99) // 100 + X)
    H = 1
    while comb(H, (H + 1) // 2) < K + S:
        H += 1
    L = K + S + H
    return CodeParameters(
        K=K,
        X=X,
        S=S,
        H=H,
        H_prime=(H + 1) // 2,
        L=L,
        L_prime=_next_prime(L),
        J=systematic_index(K),
    )


def rand(y: int, i: int, m: int) -> int:
    """Rand[Y, i, m] (§5.4.4.1)."""
    return (tables.V0[(y + i) % 256] ^ tables.V1[(y // 256 + i) % 256]) % m


def deg(v: int) -> int:
    """Deg[v] for 0 <= v < 2^20 (§5.4.4.2, Table 1)."""
    if not 0 <= v < tables.DEGREE_V_RANGE:
        raise ValueError("Deg[v] needs 0 <= v < 2^20")
    f = tables.DEGREE_F
    for j in range(1, len(f)):
        if v < f[j]:
            return tables.DEGREE_D[j - 1]
    raise AssertionError("unreachable: f[7] = 2^20")


def triple(K: int, x: int) -> Triple:
    """Trip[K, X] (§5.4.4.4). Python integers do not overflow: X·A may exceed 2^31."""
    p = code_parameters(K)
    a_const = (tables.TRIP_A_BASE + p.J * tables.TRIP_A_MULT) % tables.Q
    b_const = tables.TRIP_B_MULT * (p.J + 1) % tables.Q
    y = (b_const + x * a_const) % tables.Q
    return Triple(
        d=deg(rand(y, 0, tables.DEGREE_V_RANGE)),
        a=1 + rand(y, 1, p.L_prime - 1),
        b=rand(y, 2, p.L_prime),
    )


def lt_indices(K: int, x: int) -> list[int]:
    """Indices of the intermediate symbols LTEnc[K, C, Trip[K, X]] XORs, in generation order."""
    p = code_parameters(K)
    t = triple(K, x)
    a, b = t.a, t.b
    while b >= p.L:
        b = (b + a) % p.L_prime
    out = [b]
    for _ in range(min(t.d - 1, p.L - 1)):
        b = (b + a) % p.L_prime
        while b >= p.L:
            b = (b + a) % p.L_prime
        out.append(b)
    return out
