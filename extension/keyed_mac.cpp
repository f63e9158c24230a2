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

/*
 * Whether EVP_MAC_init with no key resets the context to its key's start:
 * -1 not known yet, 1 yes, 0 no.  OpenSSL 3.0.0 to 3.0.2 (and a provider
 * of those versions) return success and reset nothing (openssl/openssl
 * issue 17811, fixed in 3.0.3), so the next message would be hashed after
 * the last.  Probed once per session; where it fails, every message is
 * keyed afresh, as before keyed_mac.cpp.
 */
static int reset_works = -1;

/* The MAC of one message, from the context's current state. */
static bool
mac_of(const MacPart *parts, int nparts, uint8 *out)
{
    size_t written = 0;
    bool ok = true;

    for (int i = 0; i < nparts && ok; i++)
        ok = EVP_MAC_update(session_mac, (const unsigned char *) parts[i].data, parts[i].length) == 1;
    return ok && EVP_MAC_final(session_mac, out, &written, KEYED_MAC_BYTES) == 1 &&
           written == KEYED_MAC_BYTES;
}

/* Keys session_mac with secret. */
static bool
key_with(const uint8 *secret, size_t secret_length)
{
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };

    return EVP_MAC_init(session_mac, secret, secret_length, params) == 1;
}

/*
 * Sets reset_works: a probe's MAC right after keying, and again after a
 * reset (a reset refused, or a MAC refused after it, counts as no reset).
 */
static bool
probe_reset(const uint8 *secret, size_t secret_length)
{
    static const char probe[] = "url_shortener keyed_mac reset probe";
    const MacPart part = {probe, sizeof(probe)};
    uint8 fresh[KEYED_MAC_BYTES];
    uint8 again[KEYED_MAC_BYTES];

    if (!mac_of(&part, 1, fresh))
        return false;
    const bool reset = EVP_MAC_init(session_mac, NULL, 0, NULL) == 1 && mac_of(&part, 1, again);
    reset_works = reset && memcmp(fresh, again, sizeof(fresh)) == 0 ? 1 : 0;
    if (!reset)
        ERR_clear_error();
    return key_with(secret, secret_length);     /* a clean start for the caller's message */
}

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
    if (!key_with(secret, secret_length))
        return false;
    if (reset_works < 0 && !probe_reset(secret, secret_length))
        return false;
    if (reset_works == 1 && secret_length <= sizeof(keyed_with)) {
        memcpy(keyed_with, secret, secret_length);
        keyed_with_length = secret_length;
        keyed = true;
    }
    return true;
}

bool
keyed_mac(const uint8 *secret, size_t secret_length, const MacPart *parts, int nparts, uint8 *out)
{
    const bool ok = ready_for(secret, secret_length) && mac_of(parts, nparts, out);

    if (!ok) {
        /* Key afresh next time, and leave no error behind for OpenSSL's
         * other users in this backend (pgcrypto, SSL connections). */
        keyed = false;
        ERR_clear_error();
    }
    return ok;
}
