/*
 * reserved_codes.h
 *    Codes that no link may have: words a web front end serves itself
 *    (refused as aliases, never handed out as random or derived codes) and
 *    the dot segments "." and "..", which a browser resolves away before it
 *    sends the path.  Pure C++, no PostgreSQL headers.
 */
#ifndef URL_SHORTENER_RESERVED_CODES_H
#define URL_SHORTENER_RESERVED_CODES_H

/* Whether code is one of the reserved words, compared without regard to case. */
bool is_reserved_word(const char *code) noexcept;

/*
 * Whether a generated code must not be handed out: a reserved word or a dot
 * segment.  The generators treat such a code as taken.
 */
bool is_unusable_code(const char *code) noexcept;

/*
 * How many codes of length characters over alphabet (distinct characters)
 * are unusable: the dot segments alphabet can spell, and every spelling of
 * a reserved word in its letters of either case.  A draw discards them, so
 * the space a draw searches is alphabet^length less these.
 */
unsigned long unusable_codes_in(const char *alphabet, int length) noexcept;

#endif
