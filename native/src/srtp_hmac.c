/* HMAC-SHA-1 engines of broadcast._native.srtp_batch (RFC 2104 over FIPS 180-4 SHA-1);
 * the engines and their choice are described in srtp_hmac.h. */
#if defined(__GNUC__) || defined(__clang__)
/* SHA1_Init/SHA1_Update/SHA1_Final: deprecated in OpenSSL 3.0, present in every 3.x, used here
 * for their copyable SHA_CTX (no EVP dispatch, no allocation per MAC). This file only. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
#include "srtp_hmac.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

void sb_hmac_init(sb_hmac *h, const unsigned char *key, size_t keylen) {
    /* keylen <= 64 (checked by the caller), so K is the key zero-padded to one block. */
    unsigned char pad[64];
    size_t i;
    for (i = 0; i < 64; i++) pad[i] = (unsigned char)((i < keylen ? key[i] : 0) ^ 0x36);
    SHA1_Init(&h->ictx);
    SHA1_Update(&h->ictx, pad, 64);
    for (i = 0; i < 64; i++) pad[i] = (unsigned char)((i < keylen ? key[i] : 0) ^ 0x5C);
    SHA1_Init(&h->octx);
    SHA1_Update(&h->octx, pad, 64);
    OPENSSL_cleanse(pad, sizeof(pad));
    h->ih[0] = h->ictx.h0; h->ih[1] = h->ictx.h1; h->ih[2] = h->ictx.h2;
    h->ih[3] = h->ictx.h3; h->ih[4] = h->ictx.h4;
    h->oh[0] = h->octx.h0; h->oh[1] = h->octx.h1; h->oh[2] = h->octx.h2;
    h->oh[3] = h->octx.h3; h->oh[4] = h->octx.h4;
}

void sb_hmac_clear(sb_hmac *h) { OPENSSL_cleanse(h, sizeof(*h)); }

/* "openssl" engine: n MACs one after the other. */
static void sb_hmac_sw(const sb_hmac *h, sb_mac_job *jobs, size_t n) {
    SHA_CTX c;
    unsigned char inner[20];
    size_t i;
    for (i = 0; i < n; i++) {
        c = h->ictx;
        SHA1_Update(&c, jobs[i].data, jobs[i].len);
        SHA1_Update(&c, jobs[i].suffix, 4);
        SHA1_Final(inner, &c);
        c = h->octx;
        SHA1_Update(&c, inner, 20);
        SHA1_Final(jobs[i].mac, &c);
    }
    OPENSSL_cleanse(&c, sizeof(c));
    OPENSSL_cleanse(inner, sizeof(inner));
}

static inline void sb_put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

#if SB_HAVE_NI_CODE
#include <cpuid.h>
#include <immintrin.h>
#define SB_NI_TARGET __attribute__((target("sha,ssse3,sse4.1")))

/* One SHA-1 compression step of 4 rounds for every lane: the message schedule
 * W[g] = MSG2(MSG1(W[g-4], W[g-3]) ^ W[g-2], W[g-1]) (FIPS 180-4 6.1.2 with the SHA
 * extensions' split), E + W via SHA1NEXTE on the A of 4 rounds earlier. */
#define SB_NI_GROUP(K, g, f) \
    _Pragma("GCC unroll 4") \
    for (s = 0; s < (K); s++) { \
        if ((g) >= 4) \
            w[s][(g) & 3] = _mm_sha1msg2_epu32(_mm_xor_si128(_mm_sha1msg1_epu32( \
                w[s][(g) & 3], w[s][((g) + 1) & 3]), w[s][((g) + 2) & 3]), w[s][((g) + 3) & 3]); \
        e[s] = _mm_sha1nexte_epu32(prev[s], w[s][(g) & 3]); \
        prev[s] = abcd[s]; \
        abcd[s] = _mm_sha1rnds4_epu32(abcd[s], e[s], (f)); \
    }

/* K independent SHA-1 states st[s], each absorbing nblocks consecutive 64-byte blocks
 * from p[s]. */
#define SB_NI_DEFINE(NAME, K) \
SB_NI_TARGET static void NAME(uint32_t st[][5], const unsigned char *const *blocks, \
                              size_t nblocks) { \
    const __m128i mask = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL); \
    __m128i abcd[K], e0[K], sabcd[K], se[K], prev[K], e[K], w[K][4]; \
    const unsigned char *p[K]; \
    size_t b; \
    int s; \
    for (s = 0; s < (K); s++) { \
        abcd[s] = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)st[s]), 0x1B); \
        e0[s] = _mm_set_epi32((int)st[s][4], 0, 0, 0); \
        p[s] = blocks[s]; \
    } \
    for (b = 0; b < nblocks; b++) { \
        _Pragma("GCC unroll 4") \
        for (s = 0; s < (K); s++) { \
            sabcd[s] = abcd[s]; \
            se[s] = e0[s]; \
            w[s][0] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p[s] + 0)), mask); \
            w[s][1] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p[s] + 16)), mask); \
            w[s][2] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p[s] + 32)), mask); \
            w[s][3] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p[s] + 48)), mask); \
            e[s] = _mm_add_epi32(e0[s], w[s][0]); \
            prev[s] = abcd[s]; \
            abcd[s] = _mm_sha1rnds4_epu32(abcd[s], e[s], 0); \
        } \
        SB_NI_GROUP(K, 1, 0) SB_NI_GROUP(K, 2, 0) SB_NI_GROUP(K, 3, 0) \
        SB_NI_GROUP(K, 4, 0) SB_NI_GROUP(K, 5, 1) SB_NI_GROUP(K, 6, 1) \
        SB_NI_GROUP(K, 7, 1) SB_NI_GROUP(K, 8, 1) SB_NI_GROUP(K, 9, 1) \
        SB_NI_GROUP(K, 10, 2) SB_NI_GROUP(K, 11, 2) SB_NI_GROUP(K, 12, 2) \
        SB_NI_GROUP(K, 13, 2) SB_NI_GROUP(K, 14, 2) SB_NI_GROUP(K, 15, 3) \
        SB_NI_GROUP(K, 16, 3) SB_NI_GROUP(K, 17, 3) SB_NI_GROUP(K, 18, 3) \
        SB_NI_GROUP(K, 19, 3) \
        _Pragma("GCC unroll 4") \
        for (s = 0; s < (K); s++) { \
            e0[s] = _mm_sha1nexte_epu32(prev[s], se[s]); \
            abcd[s] = _mm_add_epi32(abcd[s], sabcd[s]); \
            p[s] += 64; \
        } \
    } \
    for (s = 0; s < (K); s++) { \
        _mm_storeu_si128((__m128i *)st[s], _mm_shuffle_epi32(abcd[s], 0x1B)); \
        st[s][4] = (uint32_t)_mm_extract_epi32(e0[s], 3); \
    } \
}

SB_NI_DEFINE(sb_sha1_ni_x4, SB_LANES)
SB_NI_DEFINE(sb_sha1_ni_x1, 1)

int sb_cpu_has_sha_ni(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 9)) || !(c & (1u << 19))) return 0;      /* SSSE3, SSE4.1 */
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (int)((b >> 29) & 1u);                                /* SHA */
}

/* The message of one lane: full blocks read in place, then 1 or 2 tail blocks holding the
 * rest of data, the 4-byte suffix and the SHA-1 padding (length counts the ipad block). */
typedef struct {
    const unsigned char *full;
    size_t nfull;
    size_t total;                 /* nfull + tail blocks */
    unsigned char tail[128];
} sb_lane;

static void sb_lane_init(sb_lane *l, const sb_mac_job *j) {
    size_t rem = j->len & 63, n, k;
    uint64_t bits = ((uint64_t)j->len + 64 + 4) * 8;
    l->full = j->data;
    l->nfull = j->len >> 6;
    memcpy(l->tail, j->data + (l->nfull << 6), rem);
    memcpy(l->tail + rem, j->suffix, 4);
    l->tail[rem + 4] = 0x80;
    n = rem + 5 + 8 <= 64 ? 64 : 128;
    memset(l->tail + rem + 5, 0, n - rem - 5 - 8);
    for (k = 0; k < 8; k++) l->tail[n - 1 - k] = (unsigned char)(bits >> (8 * k));
    l->total = l->nfull + (n >> 6);
}

static inline const unsigned char *sb_lane_block(const sb_lane *l, size_t k) {
    return k < l->nfull ? l->full + (k << 6) : l->tail + ((k - l->nfull) << 6);
}

/* Blocks of one lane's current region (full or tail) left from block k. */
static inline size_t sb_lane_run(const sb_lane *l, size_t k) {
    return k < l->nfull ? l->nfull - k : l->total - k;
}

/* "sha-ni" engine: MACs 4 at a time (a short group repeats its first job in the spare
 * lanes), the inner hashes in runs where every lane reads consecutive blocks. */
SB_NI_TARGET static void sb_hmac_ni(const sb_hmac *h, sb_mac_job *jobs, size_t n) {
    sb_lane lanes[SB_LANES];
    uint32_t st[SB_LANES][5];
    const unsigned char *ptr[SB_LANES];
    unsigned char outer[SB_LANES][64];
    size_t g, m, k, run, common, r;
    int s, t;
    for (g = 0; g < n; g += SB_LANES) {
        m = n - g < SB_LANES ? n - g : SB_LANES;
        common = (size_t)-1;
        for (s = 0; s < SB_LANES; s++) {
            sb_lane_init(&lanes[s], &jobs[g + ((size_t)s < m ? (size_t)s : 0)]);
            memcpy(st[s], h->ih, sizeof(h->ih));
            if (lanes[s].total < common) common = lanes[s].total;
        }
        for (k = 0; k < common; k += run) {
            run = common - k;
            for (s = 0; s < SB_LANES; s++) {
                r = sb_lane_run(&lanes[s], k);
                if (r < run) run = r;
                ptr[s] = sb_lane_block(&lanes[s], k);
            }
            sb_sha1_ni_x4(st, ptr, run);
        }
        for (s = 0; s < (int)m; s++) {
            for (r = common; r < lanes[s].total; r += run) {
                run = sb_lane_run(&lanes[s], r);
                ptr[0] = sb_lane_block(&lanes[s], r);
                sb_sha1_ni_x1(&st[s], ptr, run);
            }
        }
        for (s = 0; s < SB_LANES; s++) {
            for (t = 0; t < 5; t++) sb_put_be32(outer[s] + 4 * t, st[s][t]);
            outer[s][20] = 0x80;
            memset(outer[s] + 21, 0, 64 - 21 - 2);
            outer[s][62] = 0x02;            /* (64 + 20) * 8 = 672 bits = 0x02A0 */
            outer[s][63] = 0xA0;
            memcpy(st[s], h->oh, sizeof(h->oh));
            ptr[s] = outer[s];
        }
        sb_sha1_ni_x4(st, ptr, 1);
        for (s = 0; s < (int)m; s++)
            for (t = 0; t < 5; t++) sb_put_be32(jobs[g + (size_t)s].mac + 4 * t, st[s][t]);
    }
    OPENSSL_cleanse(lanes, sizeof(lanes));
    OPENSSL_cleanse(st, sizeof(st));
    OPENSSL_cleanse(outer, sizeof(outer));
}
#else
int sb_cpu_has_sha_ni(void) { return 0; }
static void sb_hmac_ni(const sb_hmac *h, sb_mac_job *jobs, size_t n) { sb_hmac_sw(h, jobs, n); }
#endif

/* Engine in use: 1 = sha-ni, 0 = openssl (set by the module at import, read once per batch). */
int sb_engine = 0;

void sb_hmac_run(int engine, const sb_hmac *h, sb_mac_job *jobs, size_t n) {
    if (engine) sb_hmac_ni(h, jobs, n); else sb_hmac_sw(h, jobs, n);
}

/* Both engines on messages of every tail shape (and a 4-lane group of unequal lengths)
 * must agree before SHA-NI is used. 1 = agree. */
int sb_self_test(void) {
    static const size_t lens[] = {0, 1, 51, 52, 55, 56, 59, 60, 63, 64, 119, 120, 1212, 1218};
    enum { NL = sizeof(lens) / sizeof(lens[0]) };
    unsigned char data[1300], key[20];
    sb_mac_job a[NL], b[NL];
    sb_hmac h;
    size_t i;
    int ok;
    for (i = 0; i < sizeof(data); i++) data[i] = (unsigned char)(i * 131 + 7);
    for (i = 0; i < sizeof(key); i++) key[i] = (unsigned char)(0xA0 + i);
    sb_hmac_init(&h, key, sizeof(key));
    for (i = 0; i < NL; i++) {
        a[i].data = data + i;
        a[i].len = lens[i];
        sb_put_be32(a[i].suffix, (uint32_t)(0x01020304u * (i + 1)));
        b[i] = a[i];
    }
    sb_hmac_sw(&h, a, NL);
    sb_hmac_ni(&h, b, NL);
    ok = 1;
    for (i = 0; i < NL; i++) ok &= memcmp(a[i].mac, b[i].mac, 20) == 0;
    sb_hmac_ni(&h, b + 3, 1);
    ok &= memcmp(a[3].mac, b[3].mac, 20) == 0;
    sb_hmac_clear(&h);
    return ok;
}
