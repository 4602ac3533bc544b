# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Raptor FEC (RFC 5053, FEC Encoding ID 1) — the heavy parts — ``broadcast._native.raptor``.

One source block of K source symbols (4 <= K <= 8192) of T bytes; L = K + S + H intermediate
symbols (§5.4.2.3). Everything here works on whole symbols: sub-blocking (§5.3.1.2) is only a
byte permutation and is applied by :func:`block_to_symbols` / :func:`symbols_to_block`.

The GF(2) system A·C = D (§5.4.2.4, §5.5.1) has S LDPC rows and H Half rows (D = 0), then one LT
row per encoding symbol (D = the symbol). :func:`build_schedule` finds its solution order from the
matrix alone (the schedule depends only on K and the ESIs, §5.5.2.1); :meth:`Schedule.solve`
then replays it on the symbol bytes. The encoder is the same solver on ESIs 0..K-1 (the schedule
is computed once per K and reused), followed by :func:`lt_encode` (§5.4.4.3).

Elimination (RFC §5.5.2, "inactivation decoding"):

1. Phase 1 (§5.5.2.2) on the sparse matrix: repeatedly take a row with the fewest ones r >= 1
   among the columns still in V; one of them becomes its pivot column, the other r-1 are
   inactivated (moved to U). Only degrees are tracked: the V part of a row never gains ones, so
   the rows themselves are not touched. The chosen rows, restricted to the pivot columns, form a
   unit lower triangular matrix Tr in choice order.
2. The U part after eliminating Tr: W = Tr^-1 · A_U for the chosen rows, and B_U + B·W for the
   remaining rows, as dense bit rows over the u inactivated columns.
3. Phase 2 (§5.5.2.3): Gauss-Jordan elimination of that dense (M-i)×u bit matrix. Rank < u is
   the decoding failure ("rank(A) < L"), detected before any symbol is touched.
4. Symbols: Z = Tr^-1·D_p into C at the pivot columns; the remaining rows' right-hand sides
   D_r + B·Z; the recorded phase-2 row operations give C at the inactivated columns; finally
   C at the pivot columns = Tr^-1·(D_p + A_U·C_U), in choice order.

Errors: bad arguments -> ValueError / TypeError (the Python wrapper
``broadcast.proto.flute.fec.raptor_codec`` checks first and raises the typed FLUTE errors); a singular
system -> ``build_schedule`` returns ``None``; out of memory -> MemoryError. All elimination and
symbol work runs with the GIL released; there are no per-symbol Python objects.
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy, memset

cdef extern from "raptor_tables.h":
    const uint32_t RAPTOR_V0[256]
    const uint32_t RAPTOR_V1[256]
    const uint16_t RAPTOR_SYSTEMATIC_INDEX[8189]
    const uint32_t RAPTOR_DEGREE_F[8]
    const uint32_t RAPTOR_DEGREE_D[7]
    int RAPTOR_K_MIN
    int RAPTOR_K_MAX
    const uint32_t RAPTOR_Q
    const uint32_t RAPTOR_TRIP_A_BASE
    const uint32_t RAPTOR_TRIP_A_MULT
    const uint32_t RAPTOR_TRIP_B_MULT

__all__ = [
    "K_MAX",
    "K_MIN",
    "MAX_ESI",
    "Schedule",
    "block_to_symbols",
    "build_schedule",
    "lt_encode",
    "lt_indices",
    "parameters",
    "symbols_to_block",
    "systematic_index",
    "triple",
]

K_MIN = RAPTOR_K_MIN
K_MAX = RAPTOR_K_MAX
#: Encoding Symbol IDs are 16 bits (FEC Payload ID, §3.1).
MAX_ESI = 0xFFFF
#: At most this many rows of encoding symbols per schedule (distinct 16-bit ESIs).
MAX_ROWS = 0x10000

# --- parameters and generators (§5.4.2.3, §5.4.4) ----------------------------------------------

ctypedef struct params_t:
    int K
    int S
    int H
    int Hp
    int L
    int Lp
    uint32_t J
    uint32_t A
    uint32_t B


cdef inline bint _is_prime(int n) noexcept nogil:
    cdef int f = 3
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    while f * f <= n:
        if n % f == 0:
            return False
        f += 2
    return True


cdef inline int _next_prime(int n) noexcept nogil:
    while not _is_prime(n):
        n += 1
    return n


cdef uint64_t _choose(int n, int k) noexcept nogil:
    cdef uint64_t r = 1
    cdef int i
    for i in range(1, k + 1):
        r = r * <uint64_t>(n - k + i) // <uint64_t>i
    return r


cdef void _params(int K, params_t* p) noexcept nogil:
    """X, S, H, H', L, L' of §5.4.2.3 and the triple constants A, B of §5.4.4.4."""
    cdef int X = 1
    cdef int H = 1
    while X * (X - 1) < 2 * K:
        X += 1
    p.K = K
    p.S = _next_prime((K + 99) // 100 + X)
    while _choose(H, (H + 1) // 2) < <uint64_t>(K + p.S):
        H += 1
    p.H = H
    p.Hp = (H + 1) // 2
    p.L = K + p.S + H
    p.Lp = _next_prime(p.L)
    p.J = RAPTOR_SYSTEMATIC_INDEX[K - RAPTOR_K_MIN]
    p.A = (RAPTOR_TRIP_A_BASE + p.J * RAPTOR_TRIP_A_MULT) % RAPTOR_Q
    p.B = (RAPTOR_TRIP_B_MULT * (p.J + 1)) % RAPTOR_Q


cdef inline uint32_t _rand(uint32_t y, uint32_t i, uint32_t m) noexcept nogil:
    """Rand[Y, i, m] (§5.4.4.1), in uint32."""
    return (RAPTOR_V0[(y + i) & 255] ^ RAPTOR_V1[((y >> 8) + i) & 255]) % m


cdef inline uint32_t _deg(uint32_t v) noexcept nogil:
    """Deg[v] (§5.4.4.2, Table 1)."""
    cdef int j
    for j in range(1, 8):
        if v < RAPTOR_DEGREE_F[j]:
            return RAPTOR_DEGREE_D[j - 1]
    return RAPTOR_DEGREE_D[6]


cdef inline void _triple(const params_t* p, uint32_t x, uint32_t* d, uint32_t* a, uint32_t* b) noexcept nogil:
    """Trip[K, X] (§5.4.4.4); X·A needs 64 bits (up to 65535·65520)."""
    cdef uint32_t y = <uint32_t>((<uint64_t>p.B + <uint64_t>x * <uint64_t>p.A) % RAPTOR_Q)
    d[0] = _deg(_rand(y, 0, 1u << 20))
    a[0] = 1 + _rand(y, 1, <uint32_t>(p.Lp - 1))
    b[0] = _rand(y, 2, <uint32_t>p.Lp)


cdef int _lt_indices(const params_t* p, uint32_t x, int32_t* out) noexcept nogil:
    """The intermediate symbols LTEnc[K, C, Trip[K, X]] XORs (§5.4.4.3); returns their count."""
    cdef uint32_t d, a, b
    cdef uint32_t L = <uint32_t>p.L
    cdef uint32_t Lp = <uint32_t>p.Lp
    cdef int n, j
    _triple(p, x, &d, &a, &b)
    while b >= L:
        b = (b + a) % Lp
    out[0] = <int32_t>b
    n = <int>d - 1
    if n > p.L - 1:
        n = p.L - 1
    for j in range(1, n + 1):
        b = (b + a) % Lp
        while b >= L:
            b = (b + a) % Lp
        out[j] = <int32_t>b
    return n + 1


cdef inline void _xor(uint8_t* dst, const uint8_t* src, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i = 0
    cdef uint64_t x, y
    while i + 8 <= n:
        memcpy(&x, dst + i, 8)
        memcpy(&y, src + i, 8)
        x ^= y
        memcpy(dst + i, &x, 8)
        i += 8
    while i < n:
        dst[i] ^= src[i]
        i += 1


cdef int _check_k(int K) except -1:
    if not RAPTOR_K_MIN <= K <= RAPTOR_K_MAX:
        raise ValueError(f"K = {K} outside {RAPTOR_K_MIN}..{RAPTOR_K_MAX}")
    return 0


def systematic_index(int K):
    """J(K) (§5.7)."""
    _check_k(K)
    return RAPTOR_SYSTEMATIC_INDEX[K - RAPTOR_K_MIN]


def parameters(int K):
    """(S, H, H', L, L', J(K)) for K source symbols (§5.4.2.3)."""
    cdef params_t p
    _check_k(K)
    _params(K, &p)
    return (p.S, p.H, p.Hp, p.L, p.Lp, p.J)


def triple(int K, long esi):
    """Trip[K, X] = (d, a, b) (§5.4.4.4)."""
    cdef params_t p
    cdef uint32_t d, a, b
    _check_k(K)
    if not 0 <= esi <= 0xFFFF:
        raise ValueError("ESI is 16 bits")
    _params(K, &p)
    _triple(&p, <uint32_t>esi, &d, &a, &b)
    return (d, a, b)


def lt_indices(int K, long esi):
    """The intermediate symbol indices LTEnc XORs for ESI ``esi``, in generation order."""
    cdef params_t p
    cdef int32_t buf[64]
    cdef int n, j
    _check_k(K)
    if not 0 <= esi <= 0xFFFF:
        raise ValueError("ESI is 16 bits")
    _params(K, &p)
    n = _lt_indices(&p, <uint32_t>esi, buf)
    return [buf[j] for j in range(n)]


# --- the sparse matrix A (§5.4.2.4.2, §5.5.1) ----------------------------------------------------

ctypedef struct matrix_t:
    int M            # rows: S LDPC, H Half, then one LT row per ESI
    int L            # columns
    int n            # LT rows
    int64_t nnz
    int64_t* rptr    # CSR
    int32_t* rcol
    int64_t* cptr    # CSC
    int32_t* crow


cdef void _matrix_free(matrix_t* m) noexcept nogil:
    free(m.rptr)
    free(m.rcol)
    free(m.cptr)
    free(m.crow)
    m.rptr = NULL
    m.rcol = NULL
    m.cptr = NULL
    m.crow = NULL


cdef int _gray_sequence(const params_t* p, int32_t* m) noexcept nogil:
    """m[j, H'] for j < K + S: Gray codes i ^ (i >> 1), i = 1, 2, ..., with H' one bits."""
    cdef int need = p.K + p.S
    cdef int count = 0
    cdef uint32_t i = 1
    cdef uint32_t g, c
    cdef int bits
    while count < need and i < (1u << 24):
        g = i ^ (i >> 1)
        c = g
        bits = 0
        while c:
            c &= c - 1
            bits += 1
        if bits == p.Hp:
            m[count] = <int32_t>g
            count += 1
        i += 1
    return count


cdef int _matrix_build(const params_t* p, const uint32_t* esis, int n, matrix_t* m) noexcept nogil:
    """Fill ``m`` with the rows of A; 0 on success, -1 if out of memory."""
    cdef int K = p.K, S = p.S, H = p.H, L = p.L
    cdef int M = S + H + n
    cdef int i, j, h, s, r, a, b, t, cnt
    cdef int64_t e, nnz
    cdef int32_t* gray = NULL
    cdef int32_t* fill = NULL
    cdef int32_t idx[64]
    m.M = M
    m.L = L
    m.n = n
    m.rptr = <int64_t*>calloc(M + 1, sizeof(int64_t))
    m.cptr = <int64_t*>calloc(L + 1, sizeof(int64_t))
    gray = <int32_t*>malloc((K + S) * sizeof(int32_t))
    if m.rptr == NULL or m.cptr == NULL or gray == NULL:
        free(gray)
        return -1
    if _gray_sequence(p, gray) != K + S:
        free(gray)
        return -1
    # row lengths
    for i in range(K):
        a = 1 + (i // S) % (S - 1)
        b = i % S
        for t in range(3):
            m.rptr[b + 1] += 1
            b = (b + a) % S
    for s in range(S):
        m.rptr[s + 1] += 1  # the LDPC symbol itself
    for j in range(K + S):
        for h in range(H):
            if (gray[j] >> h) & 1:
                m.rptr[S + h + 1] += 1
    for h in range(H):
        m.rptr[S + h + 1] += 1  # the Half symbol itself
    for r in range(n):
        m.rptr[S + H + r + 1] = _lt_indices(p, esis[r], idx)
    for r in range(M):
        m.rptr[r + 1] += m.rptr[r]
    nnz = m.rptr[M]
    m.nnz = nnz
    m.rcol = <int32_t*>malloc((nnz if nnz > 0 else 1) * sizeof(int32_t))
    m.crow = <int32_t*>malloc((nnz if nnz > 0 else 1) * sizeof(int32_t))
    fill = <int32_t*>calloc(M if M > L else L, sizeof(int32_t))
    if m.rcol == NULL or m.crow == NULL or fill == NULL:
        free(gray)
        free(fill)
        return -1
    # row contents (§5.4.2.3 LDPC and Half, §5.4.4.3 LT)
    for i in range(K):
        a = 1 + (i // S) % (S - 1)
        b = i % S
        for t in range(3):
            m.rcol[m.rptr[b] + fill[b]] = i
            fill[b] += 1
            b = (b + a) % S
    for s in range(S):
        m.rcol[m.rptr[s] + fill[s]] = K + s
        fill[s] += 1
    for j in range(K + S):
        for h in range(H):
            if (gray[j] >> h) & 1:
                m.rcol[m.rptr[S + h] + fill[S + h]] = j
                fill[S + h] += 1
    for h in range(H):
        m.rcol[m.rptr[S + h] + fill[S + h]] = K + S + h
    for r in range(n):
        _lt_indices(p, esis[r], m.rcol + m.rptr[S + H + r])
    free(gray)
    # columns (CSC)
    for e in range(nnz):
        m.cptr[m.rcol[e] + 1] += 1
    for j in range(L):
        m.cptr[j + 1] += m.cptr[j]
    memset(fill, 0, (M if M > L else L) * sizeof(int32_t))
    for r in range(M):
        for e in range(m.rptr[r], m.rptr[r + 1]):
            j = m.rcol[e]
            m.crow[m.cptr[j] + fill[j]] = r
            fill[j] += 1
    free(fill)
    return 0


# --- the schedule (§5.5.2) -----------------------------------------------------------------------

cdef enum:
    COL_V = 0
    COL_PIVOT = 1
    COL_INACTIVE = 2

ctypedef struct sched_t:
    params_t p
    matrix_t m
    int npivot          # i: rows chosen in phase 1
    int32_t* prow       # [npivot] chosen row, in choice order
    int32_t* pcol       # [npivot] its pivot column
    uint8_t* ckind      # [L] COL_PIVOT or COL_INACTIVE
    int32_t* cpos       # [L] index in pcol or in icol
    int u               # inactivated columns
    int32_t* icol       # [u]
    int nrest           # rows left after phase 1
    int32_t* rest       # [nrest] their row numbers
    int32_t* rslot      # [nrest] phase-2 slot of a remaining row, -1 if its value is never read;
                        # after phase 2, slot j holds C of icol[j]
    int64_t nops
    int32_t* ops        # [2*nops] (dst, src) slots


cdef void _sched_free(sched_t* s) noexcept nogil:
    _matrix_free(&s.m)
    free(s.prow)
    free(s.pcol)
    free(s.ckind)
    free(s.cpos)
    free(s.icol)
    free(s.rest)
    free(s.rslot)
    free(s.ops)
    s.prow = NULL
    s.pcol = NULL
    s.ckind = NULL
    s.cpos = NULL
    s.icol = NULL
    s.rest = NULL
    s.rslot = NULL
    s.ops = NULL


cdef int _phase1(sched_t* s) noexcept nogil:
    """Phase 1 (§5.5.2.2) on degrees only. 0 ok, 1 singular, -1 out of memory."""
    cdef matrix_t* m = &s.m
    cdef int M = m.M, L = m.L
    cdef int r, q, j, d, dq, maxdeg = 0, mind, nv = L, found
    cdef int64_t e, f
    cdef int32_t* vdeg = <int32_t*>malloc(M * sizeof(int32_t))
    cdef int32_t* nxt = <int32_t*>malloc(M * sizeof(int32_t))
    cdef int32_t* prv = <int32_t*>malloc(M * sizeof(int32_t))
    cdef uint8_t* chosen = <uint8_t*>calloc(M, 1)
    cdef int32_t* head = NULL
    cdef int status = 0
    s.prow = <int32_t*>malloc(L * sizeof(int32_t))
    s.pcol = <int32_t*>malloc(L * sizeof(int32_t))
    s.icol = <int32_t*>malloc(L * sizeof(int32_t))
    s.ckind = <uint8_t*>calloc(L, 1)
    s.cpos = <int32_t*>malloc(L * sizeof(int32_t))
    if (vdeg == NULL or nxt == NULL or prv == NULL or chosen == NULL or s.prow == NULL
            or s.pcol == NULL or s.icol == NULL or s.ckind == NULL or s.cpos == NULL):
        status = -1
    if status == 0:
        for r in range(M):
            vdeg[r] = <int32_t>(m.rptr[r + 1] - m.rptr[r])
            if vdeg[r] > maxdeg:
                maxdeg = vdeg[r]
        head = <int32_t*>malloc((maxdeg + 1) * sizeof(int32_t))
        if head == NULL:
            status = -1
    if status == 0:
        for d in range(maxdeg + 1):
            head[d] = -1
        # bucket lists by V-degree; rows are pushed in reverse so each bucket starts in row order
        for r in range(M - 1, -1, -1):
            d = vdeg[r]
            prv[r] = -1
            nxt[r] = head[d]
            if head[d] >= 0:
                prv[head[d]] = r
            head[d] = r
        s.npivot = 0
        s.u = 0
        mind = 1
        while nv > 0:
            while mind <= maxdeg and head[mind] < 0:
                mind += 1
            if mind > maxdeg:
                status = 1  # V has columns but no row has a one in V: rank < L
                break
            r = head[mind]
            # unlink r
            head[mind] = nxt[r]
            if nxt[r] >= 0:
                prv[nxt[r]] = -1
            chosen[r] = 1
            s.prow[s.npivot] = r
            found = 0
            for e in range(m.rptr[r], m.rptr[r + 1]):
                j = m.rcol[e]
                if s.ckind[j] != COL_V:
                    continue
                if not found:
                    s.ckind[j] = COL_PIVOT
                    s.cpos[j] = s.npivot
                    s.pcol[s.npivot] = j
                    found = 1
                else:
                    s.ckind[j] = COL_INACTIVE
                    s.cpos[j] = s.u
                    s.icol[s.u] = j
                    s.u += 1
                nv -= 1
                # column j leaves V: every unchosen row with a one there loses one V degree
                for f in range(m.cptr[j], m.cptr[j + 1]):
                    q = m.crow[f]
                    if chosen[q]:
                        continue
                    dq = vdeg[q]
                    if prv[q] >= 0:
                        nxt[prv[q]] = nxt[q]
                    else:
                        head[dq] = nxt[q]
                    if nxt[q] >= 0:
                        prv[nxt[q]] = prv[q]
                    dq -= 1
                    vdeg[q] = dq
                    prv[q] = -1
                    nxt[q] = -1
                    if dq > 0:
                        nxt[q] = head[dq]
                        if head[dq] >= 0:
                            prv[head[dq]] = q
                        head[dq] = q
                        if dq < mind:
                            mind = dq
            s.npivot += 1
    if status == 0:
        s.nrest = M - s.npivot
        s.rest = <int32_t*>malloc((s.nrest if s.nrest > 0 else 1) * sizeof(int32_t))
        if s.rest == NULL:
            status = -1
        else:
            q = 0
            for r in range(M):
                if not chosen[r]:
                    s.rest[q] = r
                    q += 1
    free(vdeg)
    free(nxt)
    free(prv)
    free(chosen)
    free(head)
    return status


cdef int _push_op(sched_t* s, int64_t* cap, int32_t dst, int32_t src) noexcept nogil:
    cdef int64_t ncap
    cdef int32_t* grown
    if s.nops == cap[0]:
        ncap = cap[0] * 2 if cap[0] > 0 else 1024
        grown = <int32_t*>realloc(s.ops, ncap * 2 * sizeof(int32_t))
        if grown == NULL:
            return -1
        s.ops = grown
        cap[0] = ncap
    s.ops[2 * s.nops] = dst
    s.ops[2 * s.nops + 1] = src
    s.nops += 1
    return 0


cdef int _phase2(sched_t* s) noexcept nogil:
    """Dense U part and its Gauss-Jordan elimination (§5.5.2.3). 0 ok, 1 singular, -1 no mem."""
    cdef matrix_t* m = &s.m
    cdef int u = s.u, R = s.nrest, i = s.npivot
    cdef int w = (u + 63) // 64
    cdef int k, t, c, j, pos, found, word, r, rp
    cdef int64_t e, cap = 0, o, keep
    cdef uint64_t bit
    cdef uint64_t* W = NULL
    cdef uint64_t* B = NULL
    cdef uint64_t* wk
    cdef uint64_t* bt
    cdef uint64_t* src
    cdef int32_t* perm = NULL
    cdef int status = 0
    s.nops = 0
    s.rslot = <int32_t*>malloc((R if R > 0 else 1) * sizeof(int32_t))
    if s.rslot == NULL:
        return -1
    for t in range(R):
        s.rslot[t] = -1
    if u == 0:
        return 0
    if R < u:
        return 1
    W = <uint64_t*>calloc(<size_t>i * w if i > 0 else 1, sizeof(uint64_t))
    B = <uint64_t*>calloc(<size_t>R * w, sizeof(uint64_t))
    perm = <int32_t*>malloc(R * sizeof(int32_t))
    if W == NULL or B == NULL or perm == NULL:
        status = -1
    if status == 0:
        # W = Tr^-1 · A_U, in choice order (each chosen row only refers to earlier pivots)
        for k in range(i):
            wk = W + <size_t>k * w
            r = s.prow[k]
            for e in range(m.rptr[r], m.rptr[r + 1]):
                c = m.rcol[e]
                if s.ckind[c] == COL_INACTIVE:
                    pos = s.cpos[c]
                    wk[pos >> 6] ^= (<uint64_t>1) << (pos & 63)
                elif c != s.pcol[k]:
                    src = W + <size_t>s.cpos[c] * w
                    for j in range(w):
                        wk[j] ^= src[j]
        # remaining rows: B_U + B · W
        for t in range(R):
            bt = B + <size_t>t * w
            r = s.rest[t]
            for e in range(m.rptr[r], m.rptr[r + 1]):
                c = m.rcol[e]
                if s.ckind[c] == COL_INACTIVE:
                    pos = s.cpos[c]
                    bt[pos >> 6] ^= (<uint64_t>1) << (pos & 63)
                else:
                    src = W + <size_t>s.cpos[c] * w
                    for j in range(w):
                        bt[j] ^= src[j]
            perm[t] = t
        # Gauss-Jordan over the u columns, recording row operations on `rest` indices
        for c in range(u):
            word = c >> 6
            bit = (<uint64_t>1) << (c & 63)
            found = -1
            for t in range(c, R):
                if B[<size_t>perm[t] * w + word] & bit:
                    found = t
                    break
            if found < 0:
                status = 1
                break
            rp = perm[found]
            perm[found] = perm[c]
            perm[c] = rp
            src = B + <size_t>rp * w
            for t in range(R):
                if t == c:
                    continue
                bt = B + <size_t>perm[t] * w
                if bt[word] & bit:
                    for j in range(word, w):
                        bt[j] ^= src[j]
                    if _push_op(s, &cap, perm[t], rp) < 0:
                        status = -1
                        break
            if status != 0:
                break
    if status == 0:
        # only the u pivot rows are ever read: drop the operations on the others and number the
        # pivot rows by their column, so the symbol pass needs u·T bytes, not (M - i)·T
        for c in range(u):
            s.rslot[perm[c]] = c
        keep = 0
        for o in range(s.nops):
            if s.rslot[s.ops[2 * o]] >= 0:
                s.ops[2 * keep] = s.rslot[s.ops[2 * o]]
                s.ops[2 * keep + 1] = s.rslot[s.ops[2 * o + 1]]
                keep += 1
        s.nops = keep
    free(W)
    free(B)
    free(perm)
    return status


cdef inline const uint8_t* _rhs(const sched_t* s, int row, const uint8_t* symbols, Py_ssize_t T) noexcept nogil:
    """D[row]: NULL (zero) for the S + H constraint rows, else the received symbol."""
    cdef int base = s.p.S + s.p.H
    if row < base:
        return NULL
    return symbols + <size_t>(row - base) * T


cdef int _solve(const sched_t* s, const uint8_t* symbols, Py_ssize_t T, uint8_t* C) noexcept nogil:
    """Replay the schedule on symbol bytes: C (L×T) from D. 0 ok, -1 out of memory."""
    cdef const matrix_t* m = &s.m
    cdef int k, t, r, c, pc, j
    cdef int64_t e, o
    cdef uint8_t* dst
    cdef const uint8_t* d
    cdef uint8_t* R = NULL
    if s.u > 0:
        R = <uint8_t*>malloc(<size_t>s.u * T)
        if R == NULL:
            return -1
    # Z = Tr^-1 · D_p, stored at the pivot columns of C
    for k in range(s.npivot):
        r = s.prow[k]
        pc = s.pcol[k]
        dst = C + <size_t>pc * T
        d = _rhs(s, r, symbols, T)
        if d != NULL:
            memcpy(dst, d, T)
        else:
            memset(dst, 0, T)
        for e in range(m.rptr[r], m.rptr[r + 1]):
            c = m.rcol[e]
            if c != pc and s.ckind[c] == COL_PIVOT:
                _xor(dst, C + <size_t>c * T, T)
    if s.u > 0:
        # right-hand sides of the remaining rows that phase 2 uses: D_r + B · Z
        for t in range(s.nrest):
            if s.rslot[t] < 0:
                continue
            r = s.rest[t]
            dst = R + <size_t>s.rslot[t] * T
            d = _rhs(s, r, symbols, T)
            if d != NULL:
                memcpy(dst, d, T)
            else:
                memset(dst, 0, T)
            for e in range(m.rptr[r], m.rptr[r + 1]):
                c = m.rcol[e]
                if s.ckind[c] == COL_PIVOT:
                    _xor(dst, C + <size_t>c * T, T)
        for o in range(s.nops):
            _xor(R + <size_t>s.ops[2 * o] * T, R + <size_t>s.ops[2 * o + 1] * T, T)
        for j in range(s.u):
            memcpy(C + <size_t>s.icol[j] * T, R + <size_t>j * T, T)
        free(R)
    # C at the pivot columns = Tr^-1 · (D_p + A_U · C_U), in choice order
    # (with u = 0 the first pass already computed exactly this)
    if s.u > 0:
        for k in range(s.npivot):
            r = s.prow[k]
            pc = s.pcol[k]
            dst = C + <size_t>pc * T
            d = _rhs(s, r, symbols, T)
            if d != NULL:
                memcpy(dst, d, T)
            else:
                memset(dst, 0, T)
            for e in range(m.rptr[r], m.rptr[r + 1]):
                c = m.rcol[e]
                if c != pc:
                    _xor(dst, C + <size_t>c * T, T)
    return 0


cdef class Schedule:
    """The elimination schedule of one matrix A (K and a list of ESIs); see :func:`build_schedule`."""

    cdef sched_t s
    cdef readonly int K
    cdef readonly int L
    cdef readonly int rows
    cdef readonly int inactivated
    cdef readonly long long row_operations

    def __cinit__(self):
        memset(&self.s, 0, sizeof(sched_t))

    def __dealloc__(self):
        _sched_free(&self.s)

    def solve(self, const uint8_t[::1] symbols not None, Py_ssize_t T, uint8_t[::1] out not None):
        """Write the L intermediate symbols (L·T bytes) into ``out``.

        ``symbols`` holds the encoding symbols in ESI-list order, T bytes each.
        """
        cdef int status
        if T <= 0 or T > 0xFFFF:
            raise ValueError("symbol length T must be 1..65535")
        if symbols.shape[0] != <Py_ssize_t>self.s.m.n * T:
            raise ValueError(f"expected {self.s.m.n} symbols of {T} bytes")
        if out.shape[0] != <Py_ssize_t>self.L * T:
            raise ValueError(f"output must be L·T = {self.L * T} bytes")
        with nogil:
            status = _solve(&self.s, &symbols[0], T, &out[0])
        if status < 0:
            raise MemoryError("raptor: out of memory while solving")


def build_schedule(int K, const uint32_t[::1] esis not None):
    """The solution schedule for K source symbols received as the given ESIs (§5.5.2).

    Returns ``None`` when the system has rank < L (decoding fails: more symbols are needed).
    Fewer than K ESIs always fail. ESIs must be distinct and below 2^16.
    """
    cdef Schedule sch
    cdef int n = esis.shape[0]
    cdef int status, j
    cdef const uint32_t* ep
    _check_k(K)
    if n > MAX_ROWS:
        raise ValueError(f"at most {MAX_ROWS} encoding symbols")
    for j in range(n):
        if esis[j] > 0xFFFF:
            raise ValueError("ESI is 16 bits")
    if n < K:
        return None
    sch = Schedule.__new__(Schedule)
    _params(K, &sch.s.p)
    ep = &esis[0]
    with nogil:
        status = _matrix_build(&sch.s.p, ep, n, &sch.s.m)
        if status == 0:
            status = _phase1(&sch.s)
        if status == 0:
            status = _phase2(&sch.s)
    if status < 0:
        raise MemoryError("raptor: out of memory while building the schedule")
    if status > 0:
        return None
    sch.K = K
    sch.L = sch.s.p.L
    sch.rows = sch.s.m.M
    sch.inactivated = sch.s.u
    sch.row_operations = sch.s.nops
    return sch


def lt_encode(
    int K,
    const uint8_t[::1] intermediate not None,
    Py_ssize_t T,
    const uint32_t[::1] esis not None,
    uint8_t[::1] out not None,
):
    """LTEnc[K, C, Trip[K, X]] for each ESI X (§5.4.4.3), T bytes each, into ``out``."""
    cdef params_t p
    cdef int n = esis.shape[0]
    cdef int j, t, cnt
    cdef int32_t idx[64]
    cdef uint8_t* dst
    cdef const uint8_t* C
    cdef const uint32_t* ep
    _check_k(K)
    _params(K, &p)
    if T <= 0 or T > 0xFFFF:
        raise ValueError("symbol length T must be 1..65535")
    if intermediate.shape[0] != <Py_ssize_t>p.L * T:
        raise ValueError(f"intermediate symbols must be L·T = {p.L * T} bytes")
    if out.shape[0] != <Py_ssize_t>n * T:
        raise ValueError(f"output must be {n}·T bytes")
    for j in range(n):
        if esis[j] > 0xFFFF:
            raise ValueError("ESI is 16 bits")
    if n == 0:
        return
    C = &intermediate[0]
    ep = &esis[0]
    dst = &out[0]
    with nogil:
        for j in range(n):
            cnt = _lt_indices(&p, ep[j], idx)
            memcpy(dst + <size_t>j * T, C + <size_t>idx[0] * T, T)
            for t in range(1, cnt):
                _xor(dst + <size_t>j * T, C + <size_t>idx[t] * T, T)


# --- sub-blocks (§5.3.1.2) -----------------------------------------------------------------------

cdef int _check_subblocks(
    Py_ssize_t size, Py_ssize_t other, int K, Py_ssize_t T, Py_ssize_t tl, int nl, Py_ssize_t ts, int ns
) except -1:
    if K <= 0 or T <= 0 or nl < 0 or ns < 0 or tl < 0 or ts < 0:
        raise ValueError("bad sub-block parameters")
    if <Py_ssize_t>nl * tl + <Py_ssize_t>ns * ts != T:
        raise ValueError("sub-symbol sizes do not add up to T")
    if size != <Py_ssize_t>K * T or other != size:
        raise ValueError("block and symbols must both be K·T bytes")
    return 0


cdef void _permute(
    const uint8_t* src, uint8_t* dst, int K, Py_ssize_t T, Py_ssize_t tl, int nl, Py_ssize_t ts,
    int ns, bint to_symbols
) noexcept nogil:
    cdef int n, mi
    cdef Py_ssize_t sub, at = 0, within = 0
    for n in range(nl + ns):
        sub = tl if n < nl else ts
        for mi in range(K):
            if to_symbols:
                memcpy(dst + <size_t>mi * T + within, src + at + <size_t>mi * sub, sub)
            else:
                memcpy(dst + at + <size_t>mi * sub, src + <size_t>mi * T + within, sub)
        at += <Py_ssize_t>K * sub
        within += sub


def block_to_symbols(
    const uint8_t[::1] block not None, uint8_t[::1] symbols not None, int K, Py_ssize_t T,
    Py_ssize_t tl, int nl, Py_ssize_t ts, int ns,
):
    """Source block bytes (N sub-blocks) -> K symbols of T bytes: symbol m is sub-symbol m of
    sub-block 0, then of sub-block 1, ... (§5.3.1.2). ``tl``/``ts`` are sub-symbol sizes in bytes."""
    _check_subblocks(block.shape[0], symbols.shape[0], K, T, tl, nl, ts, ns)
    with nogil:
        _permute(&block[0], &symbols[0], K, T, tl, nl, ts, ns, True)


def symbols_to_block(
    const uint8_t[::1] symbols not None, uint8_t[::1] block not None, int K, Py_ssize_t T,
    Py_ssize_t tl, int nl, Py_ssize_t ts, int ns,
):
    """The inverse of :func:`block_to_symbols`."""
    _check_subblocks(symbols.shape[0], block.shape[0], K, T, tl, nl, ts, ns)
    with nogil:
        _permute(&symbols[0], &block[0], K, T, tl, nl, ts, ns, False)
