/* HMAC-SHA-1 engines of broadcast._native.srtp_batch (RFC 2104 over FIPS 180-4 SHA-1).
 *
 * Both start from the SHA-1 states after (K ^ ipad) and (K ^ opad), computed once per key.
 *
 * "openssl": OpenSSL's SHA1_Update/SHA1_Final on copied SHA_CTX structs (no EVP dispatch,
 *     no allocation per MAC). SHA1_* is deprecated in OpenSSL 3.0 but present in every 3.x;
 *     the deprecation warning is silenced in srtp_hmac.c only.
 * "sha-ni": x86-64 SHA extensions (SHA1RNDS4 / SHA1NEXTE / SHA1MSG1 / SHA1MSG2), four
 *     packets' MACs computed at once. One SHA-1 stream is bound by the latency of the
 *     SHA1RNDS4 chain (OpenSSL's single-stream SHA-NI code included); four independent
 *     chains interleaved keep the unit busy: ~2x the single-stream throughput. Chosen at
 *     import when CPUID reports SHA + SSSE3 + SSE4.1 AND a self-test against the "openssl"
 *     engine passes.
 *
 * Compiled as an extra source of the extension (pyproject.toml ext-modules); the declarations
 * are hidden (not exported from the extension's shared object).
 */
#ifndef MBMS_NATIVE_SRTP_HMAC_H
#define MBMS_NATIVE_SRTP_HMAC_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/sha.h>

/* MACs computed in one pass by the "sha-ni" engine (and the group size of the callers). */
#define SB_LANES 4

/* 1 when this build has the SHA-NI engine's code (x86-64 with GCC or Clang), else 0. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SB_HAVE_NI_CODE 1
#else
#define SB_HAVE_NI_CODE 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(hidden)
#endif

typedef struct {
    SHA_CTX ictx;            /* after absorbing K ^ ipad */
    SHA_CTX octx;            /* after absorbing K ^ opad */
    uint32_t ih[5];          /* the same two states as words (SHA-NI engine) */
    uint32_t oh[5];
} sb_hmac;

typedef struct {
    const unsigned char *data;   /* MAC input: data[0:len] || suffix[0:4] */
    size_t len;
    unsigned char suffix[4];
    unsigned char mac[20];       /* HMAC-SHA-1 output */
} sb_mac_job;

/* Engine in use: 1 = sha-ni, 0 = openssl. Read once per batch. */
extern int sb_engine;

/* The inner and outer states of HMAC under key (keylen <= 64, checked by the caller). */
void sb_hmac_init(sb_hmac *h, const unsigned char *key, size_t keylen);

/* Wipe the states (they are key material). */
void sb_hmac_clear(sb_hmac *h);

/* The MACs of jobs[0..n) with engine (1 = sha-ni, 0 = openssl). */
void sb_hmac_run(int engine, const sb_hmac *h, sb_mac_job *jobs, size_t n);

/* 1 when the CPU has SHA + SSSE3 + SSE4.1 (and this build has the SHA-NI code), else 0. */
int sb_cpu_has_sha_ni(void);

/* 1 when both engines agree on messages of every tail shape; call only when
 * sb_cpu_has_sha_ni() is 1. */
int sb_self_test(void);

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#endif /* MBMS_NATIVE_SRTP_HMAC_H */
