/*
 * code_generator.cpp
 *    Random bytes for codes, pooled so that a draw costs one
 *    pg_strong_random call per few codes, not one per character.  The pool
 *    is a static array: nothing is allocated per call.
 */
#include "code_generator.h"

#include "code_alphabet.h"
#include "keyed_mac.h"
#include "postgres_headers.h"
#include "settings.h"

static uint8 random_pool[256];
static size_t pool_position = sizeof(random_pool);     /* empty until first use */

static bool use_test_sequence = false;
static pg_prng_state test_sequence;

static void
refill_pool(void)
{
    if (use_test_sequence) {
        for (size_t i = 0; i < sizeof(random_pool); i += sizeof(uint64)) {
            const uint64 r = pg_prng_uint64(&test_sequence);
            memcpy(random_pool + i, &r, sizeof(r));
        }
    } else if (!pg_strong_random(random_pool, sizeof(random_pool))) {
        ereport(ERROR,
                (errcode(ERRCODE_INTERNAL_ERROR),
                 errmsg("could not generate random bytes for a short code")));
    }
    pool_position = 0;
}

int
draw_code(char *code)
{
    const size_t wanted = (size_t) code_length_setting;
    const size_t alphabet_size = strlen(alphabet_setting);
    size_t written = 0;

    while (written < wanted) {
        if (pool_position == sizeof(random_pool))
            refill_pool();
        const url_shortener::CodeFill fill =
            url_shortener::map_random_bytes(random_pool + pool_position,
                                            sizeof(random_pool) - pool_position,
                                            alphabet_setting, alphabet_size,
                                            code + written, wanted - written);
        pool_position += fill.consumed;
        written += fill.written;
    }
    code[written] = '\0';
    return (int) written;
}

void
reseed_code_generator(int seed)
{
    use_test_sequence = seed >= 0;
    if (use_test_sequence)
        pg_prng_seed(&test_sequence, (uint64) seed);
    pool_position = sizeof(random_pool);    /* drop bytes drawn under the old source */
}

/* One HMAC-SHA256 block of the byte stream of derive_code. */
static void
derived_block(const uint8 *key, size_t key_length, const char *url, size_t url_length,
              uint32 attempt, uint32 block, uint8 *out)
{
    uint8 counters[8];

    for (int i = 0; i < 4; i++) {
        counters[i] = (uint8) (attempt >> (24 - 8 * i));
        counters[4 + i] = (uint8) (block >> (24 - 8 * i));
    }
    const MacPart parts[2] = {
        {counters, sizeof(counters)},
        {url, url_length},
    };
    if (!keyed_mac(key, key_length, parts, 2, out))
        ereport(ERROR,
                (errcode(ERRCODE_INTERNAL_ERROR),
                 errmsg("could not compute the code of a reusable link")));
}

int
derive_code(const uint8 *key, size_t key_length, const char *url, size_t url_length,
            uint32 attempt, int code_length, const char *alphabet, char *code)
{
    const size_t wanted = (size_t) code_length;
    const size_t alphabet_size = strlen(alphabet);
    uint8 bytes[KEYED_MAC_BYTES];
    size_t written = 0;

    for (uint32 block = 0; written < wanted; block++) {
        derived_block(key, key_length, url, url_length, attempt, block, bytes);
        written += url_shortener::map_random_bytes(bytes, sizeof(bytes), alphabet,
                                                   alphabet_size, code + written,
                                                   wanted - written).written;
    }
    code[written] = '\0';
    return (int) written;
}
