/*
 * code_alphabet.h
 *    Short-code alphabets: which ones are acceptable, and how random bytes
 *    become code characters without modulo bias.  Pure C++, no PostgreSQL
 *    headers, so it can be fuzzed and tested outside the server.
 */
#ifndef URL_SHORTENER_CODE_ALPHABET_H
#define URL_SHORTENER_CODE_ALPHABET_H

#include <cstddef>
#include <cstdint>

namespace url_shortener {

/* RFC 3986 "unreserved" characters: the only ones a code may use. */
constexpr std::size_t max_alphabet_size = 66;

enum class AlphabetProblem { none, too_short, too_long, not_url_safe, duplicate };

struct AlphabetVerdict {
    AlphabetProblem problem;
    char character;     /* the offending character, for not_url_safe and duplicate */
};

/* Accepts 2 to 66 distinct characters from A-Z a-z 0-9 - . _ ~ (NUL-terminated). */
AlphabetVerdict check_alphabet(const char *alphabet) noexcept;

/*
 * The count of byte values a draw accepts for an alphabet of alphabet_size
 * characters: the largest multiple of alphabet_size not above 256.  A byte b
 * below it maps to alphabet[b % alphabet_size], every character equally
 * likely; a byte at or above it is discarded (rejection sampling).
 */
constexpr unsigned acceptance_limit(std::size_t alphabet_size) noexcept
{
    return 256u - 256u % static_cast<unsigned>(alphabet_size);
}

struct CodeFill {
    std::size_t written;    /* code characters produced */
    std::size_t consumed;   /* random bytes used, accepted or discarded */
};

/*
 * Appends characters to code[0..wanted) from the random bytes, stopping when
 * wanted characters are written or the bytes run out; the caller supplies
 * more bytes and calls again for the rest.  alphabet_size must be 2..256.
 */
CodeFill map_random_bytes(const std::uint8_t *bytes, std::size_t byte_count,
                          const char *alphabet, std::size_t alphabet_size,
                          char *code, std::size_t wanted) noexcept;

}  // namespace url_shortener

#endif
