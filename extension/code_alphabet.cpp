/*
 * code_alphabet.cpp
 *    Alphabet rules and the unbiased mapping of random bytes onto an
 *    alphabet (see code_alphabet.h).
 */
#include "code_alphabet.h"

#include <cstring>

namespace url_shortener {
namespace {

bool is_unreserved(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace

AlphabetVerdict check_alphabet(const char *alphabet) noexcept
{
    bool seen[256] = {false};
    std::size_t n = 0;

    for (const char *p = alphabet; *p != '\0'; p++, n++) {
        if (!is_unreserved(*p))
            return {AlphabetProblem::not_url_safe, *p};
        const unsigned char u = static_cast<unsigned char>(*p);
        if (seen[u])
            return {AlphabetProblem::duplicate, *p};
        seen[u] = true;
    }
    if (n < 2)
        return {AlphabetProblem::too_short, '\0'};
    if (n > max_alphabet_size)     /* cannot happen with distinct unreserved characters */
        return {AlphabetProblem::too_long, '\0'};
    return {AlphabetProblem::none, '\0'};
}

CodeFill map_random_bytes(const std::uint8_t *bytes, std::size_t byte_count,
                          const char *alphabet, std::size_t alphabet_size,
                          char *code, std::size_t wanted) noexcept
{
    const unsigned limit = acceptance_limit(alphabet_size);
    CodeFill fill{0, 0};

    while (fill.written < wanted && fill.consumed < byte_count) {
        const unsigned b = bytes[fill.consumed++];
        if (b < limit)
            code[fill.written++] = alphabet[b % alphabet_size];
    }
    return fill;
}

}  // namespace url_shortener
