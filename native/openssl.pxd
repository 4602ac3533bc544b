# cython: language_level=3
"""libcrypto (OpenSSL >= 3.0) declarations shared by the native/*.pyx modules.

Only the EVP layer is declared: digests (EVP_MD), ciphers (EVP_CIPHER), MACs (EVP_MAC with
OSSL_PARAM), the error queue and a few memory helpers. The deprecated low-level APIs
(SHA1_Init, HMAC_CTX, AES_encrypt, ...) are deliberately absent.

All functions are declared ``nogil``: they never touch Python objects. Return-code conventions
are OpenSSL's (1 = success for most EVP calls, NULL = failure for constructors); callers must
check every one.

Usage from a .pyx compiled with include-dirs ["native"]:  ``from openssl cimport *``
"""


cdef extern from "openssl/types.h" nogil:
    ctypedef struct OSSL_LIB_CTX:
        pass
    ctypedef struct ENGINE:
        pass
    ctypedef struct EVP_MD:
        pass
    ctypedef struct EVP_MD_CTX:
        pass
    ctypedef struct EVP_CIPHER:
        pass
    ctypedef struct EVP_CIPHER_CTX:
        pass
    ctypedef struct EVP_MAC:
        pass
    ctypedef struct EVP_MAC_CTX:
        pass


cdef extern from "openssl/core.h" nogil:
    # The fields are listed so that Cython can size arrays of OSSL_PARAM; build them with the
    # OSSL_PARAM_construct_* functions below, never by hand.
    ctypedef struct OSSL_PARAM:
        const char *key
        unsigned int data_type
        void *data
        size_t data_size
        size_t return_size


cdef extern from "openssl/params.h" nogil:
    OSSL_PARAM OSSL_PARAM_construct_utf8_string(const char *key, char *buf, size_t bsize)
    OSSL_PARAM OSSL_PARAM_construct_octet_string(const char *key, void *buf, size_t bsize)
    OSSL_PARAM OSSL_PARAM_construct_size_t(const char *key, size_t *buf)
    OSSL_PARAM OSSL_PARAM_construct_int(const char *key, int *buf)
    OSSL_PARAM OSSL_PARAM_construct_end()


cdef extern from "openssl/core_names.h" nogil:
    const char *OSSL_MAC_PARAM_DIGEST
    const char *OSSL_MAC_PARAM_KEY
    const char *OSSL_MAC_PARAM_SIZE


cdef extern from "openssl/crypto.h" nogil:
    void OPENSSL_cleanse(void *ptr, size_t len)
    int CRYPTO_memcmp(const void *a, const void *b, size_t len)


cdef extern from "openssl/err.h" nogil:
    unsigned long ERR_get_error()
    unsigned long ERR_peek_last_error()
    void ERR_clear_error()
    void ERR_error_string_n(unsigned long e, char *buf, size_t len)


cdef extern from "openssl/evp.h" nogil:
    enum:
        EVP_MAX_MD_SIZE
        EVP_MAX_BLOCK_LENGTH

    # --- message digests ---------------------------------------------------------------------
    EVP_MD *EVP_MD_fetch(OSSL_LIB_CTX *ctx, const char *algorithm, const char *properties)
    void EVP_MD_free(EVP_MD *md)
    const EVP_MD *EVP_sha1()
    const EVP_MD *EVP_sha256()
    int EVP_MD_get_size(const EVP_MD *md)
    int EVP_MD_get_block_size(const EVP_MD *md)

    EVP_MD_CTX *EVP_MD_CTX_new()
    void EVP_MD_CTX_free(EVP_MD_CTX *ctx)
    int EVP_MD_CTX_reset(EVP_MD_CTX *ctx)
    int EVP_MD_CTX_copy_ex(EVP_MD_CTX *out, const EVP_MD_CTX *inp)
    int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl)
    int EVP_DigestInit_ex2(EVP_MD_CTX *ctx, const EVP_MD *type, const OSSL_PARAM *params)
    int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt)
    int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s)
    int EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
                   const EVP_MD *type, ENGINE *impl)

    # --- symmetric ciphers -------------------------------------------------------------------
    EVP_CIPHER *EVP_CIPHER_fetch(OSSL_LIB_CTX *ctx, const char *algorithm,
                                 const char *properties)
    void EVP_CIPHER_free(EVP_CIPHER *cipher)
    const EVP_CIPHER *EVP_aes_128_ctr()
    int EVP_CIPHER_get_key_length(const EVP_CIPHER *cipher)
    int EVP_CIPHER_get_iv_length(const EVP_CIPHER *cipher)

    EVP_CIPHER_CTX *EVP_CIPHER_CTX_new()
    void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *ctx)
    int EVP_CIPHER_CTX_reset(EVP_CIPHER_CTX *ctx)
    int EVP_EncryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher, ENGINE *impl,
                           const unsigned char *key, const unsigned char *iv)
    int EVP_EncryptInit_ex2(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher,
                            const unsigned char *key, const unsigned char *iv,
                            const OSSL_PARAM *params)
    int EVP_EncryptUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl,
                          const unsigned char *inp, int inl)
    int EVP_EncryptFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl)

    # --- MACs (EVP_MAC, OpenSSL 3 provider API) ----------------------------------------------
    EVP_MAC *EVP_MAC_fetch(OSSL_LIB_CTX *libctx, const char *algorithm, const char *properties)
    void EVP_MAC_free(EVP_MAC *mac)
    EVP_MAC_CTX *EVP_MAC_CTX_new(EVP_MAC *mac)
    void EVP_MAC_CTX_free(EVP_MAC_CTX *ctx)
    EVP_MAC_CTX *EVP_MAC_CTX_dup(const EVP_MAC_CTX *src)
    int EVP_MAC_CTX_set_params(EVP_MAC_CTX *ctx, const OSSL_PARAM *params)
    size_t EVP_MAC_CTX_get_mac_size(EVP_MAC_CTX *ctx)
    int EVP_MAC_init(EVP_MAC_CTX *ctx, const unsigned char *key, size_t keylen,
                     const OSSL_PARAM *params)
    int EVP_MAC_update(EVP_MAC_CTX *ctx, const unsigned char *data, size_t datalen)
    int EVP_MAC_final(EVP_MAC_CTX *ctx, unsigned char *out, size_t *outl, size_t outsize)
