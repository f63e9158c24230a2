/*
 * keyed_mac.cpp
 *    HMAC-SHA256 with one OpenSSL MAC context per session (see keyed_mac.h).
 *    Plain C calls into OpenSSL, which neither throws nor longjmps; no
 *    PostgreSQL call that may raise an error is made here.
 */
#include "keyed_mac.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

/*
 * The session's context and the secret it was keyed with.  A secret longer
 * than the copy kept is keyed again at every call (reuse_key.secret is 32
 * bytes as the extension makes it; an administrator may set any length of
 * at least 16).
 */
static EVP_MAC *hmac_algorithm = NULL;
static EVP_MAC_CTX *session_mac = NULL;
static uint8 keyed_with[256];
static size_t keyed_with_length = 0;
static bool keyed = false;

/* Keys session_mac with secret, or resets it if it holds that key already. */
static bool
ready_for(const uint8 *secret, size_t secret_length)
{
    if (keyed && secret_length == keyed_with_length && memcmp(secret, keyed_with, secret_length) == 0)
        return EVP_MAC_init(session_mac, NULL, 0, NULL) == 1;   /* the same key, state reset */

    keyed = false;
    if (hmac_algorithm == NULL && (hmac_algorithm = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
        return false;
    if (session_mac == NULL && (session_mac = EVP_MAC_CTX_new(hmac_algorithm)) == NULL)
        return false;
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(session_mac, secret, secret_length, params) != 1)
        return false;
    if (secret_length <= sizeof(keyed_with)) {
        memcpy(keyed_with, secret, secret_length);
        keyed_with_length = secret_length;
        keyed = true;
    }
    return true;
}

bool
keyed_mac(const uint8 *secret, size_t secret_length, const MacPart *parts, int nparts, uint8 *out)
{
    size_t written = 0;
    bool ok = ready_for(secret, secret_length);

    for (int i = 0; i < nparts && ok; i++)
        ok = EVP_MAC_update(session_mac, (const unsigned char *) parts[i].data, parts[i].length) == 1;
    ok = ok && EVP_MAC_final(session_mac, out, &written, KEYED_MAC_BYTES) == 1 &&
         written == KEYED_MAC_BYTES;
    if (!ok) {
        /* Key afresh next time, and leave no error behind for OpenSSL's
         * other users in this backend (pgcrypto, SSL connections). */
        keyed = false;
        ERR_clear_error();
    }
    return ok;
}
