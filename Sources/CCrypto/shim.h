#pragma once
#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

// OpenSSL spells these as macros, which Swift does not import.
static inline long haven_ssl_set_server_name(SSL *ssl, const char *name) { return SSL_set_tlsext_host_name(ssl, name); }
static inline size_t haven_bio_pending(BIO *bio) { return BIO_ctrl_pending(bio); }
static inline long haven_bio_empty_means_retry(BIO *bio) { return BIO_set_mem_eof_return(bio, -1); }
static inline int haven_ssl_ctx_require_tls12(SSL_CTX *context) { return (int)SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION); }
