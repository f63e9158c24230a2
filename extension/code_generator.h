/*
 * code_generator.h
 *    Draws short codes from pg_strong_random (or, for tests only, from a
 *    seeded sequence), mapped onto url_shortener.alphabet without bias.
 */
#ifndef URL_SHORTENER_CODE_GENERATOR_H
#define URL_SHORTENER_CODE_GENERATOR_H

#define MAX_CODE_LENGTH 64

/*
 * Writes a fresh code of url_shortener.code_length characters and a NUL to
 * code, which holds MAX_CODE_LENGTH + 1 bytes.  Returns the length.
 * May ereport(ERROR) if the system's random source fails.
 */
int draw_code(char *code);

/* seed >= 0: restart the seeded test sequence; -1: back to pg_strong_random. */
void reseed_code_generator(int seed);

#endif
