/*
 * code_generator.h
 *    Draws short codes from pg_strong_random (or, for tests only, from a
 *    seeded sequence), mapped onto url_shortener.alphabet without bias.
 */
#ifndef URL_SHORTENER_CODE_GENERATOR_H
#define URL_SHORTENER_CODE_GENERATOR_H

#include "postgres_headers.h"

#define MAX_CODE_LENGTH 64

/*
 * Writes a fresh code of url_shortener.code_length characters and a NUL to
 * code, which holds MAX_CODE_LENGTH + 1 bytes.  Returns the length.
 * May ereport(ERROR) if the system's random source fails.
 */
int draw_code(char *code);

/*
 * The code of a reusable link: attempt 0, 1, ... of url gives a fixed
 * sequence of codes, the same in every session, from HMAC-SHA256 under the
 * extension's secret key, mapped onto alphabet without bias like a random
 * draw, code_length characters.  The shape comes with the key, never from
 * the session's settings, so a caller cannot steer it.  Without the key
 * nobody can compute a URL's code.
 */
int derive_code(const uint8 *key, size_t key_length, const char *url, size_t url_length,
                uint32 attempt, int code_length, const char *alphabet, char *code);

/* seed >= 0: restart the seeded test sequence; -1: back to pg_strong_random. */
void reseed_code_generator(int seed);

#endif
