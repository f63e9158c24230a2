/*
 * reserved_codes.cpp
 *    The list of reserved words (documented in the README) and the checks
 *    that keep them, and dot segments, out of every code.
 */
#include "reserved_codes.h"

#include <iterator>
#include <string_view>
#include <cctype>
#include <strings.h>

/*
 * The two dot segments, then the words that would shadow the paths a web
 * front end typically serves itself.  An alias equal to a word is refused;
 * a random or derived code equal to any entry, whatever the alphabet, is
 * discarded like a taken code.
 */
static constexpr std::string_view unusable_codes[] = {
    ".", "..",
    "admin", "api", "app", "assets", "dashboard", "health", "healthz", "help",
    "login", "logout", "metrics", "readyz", "settings", "signup", "static",
    "stats", "status", "www",
};
static constexpr std::size_t DOT_SEGMENTS = 2;

/*
 * Every generated code goes through here, so the lengths are compared
 * before any letters: most words are ruled out without reading the code.
 */
bool
is_reserved_word(const char *code) noexcept
{
    const std::string_view candidate(code);

    for (std::size_t i = DOT_SEGMENTS; i < std::size(unusable_codes); i++)
        if (unusable_codes[i].size() == candidate.size() &&
            strncasecmp(code, unusable_codes[i].data(), candidate.size()) == 0)
            return true;
    return false;
}

unsigned long
unusable_codes_in(const char *alphabet, int length) noexcept
{
    const std::string_view letters(alphabet);
    unsigned long count = 0;

    for (std::size_t i = 0; i < std::size(unusable_codes); i++) {
        const std::string_view word = unusable_codes[i];
        if (word.size() != static_cast<std::size_t>(length))
            continue;
        /* Dot segments match exactly; words in any case (is_reserved_word). */
        unsigned long spellings = 1;
        for (const char c : word) {
            unsigned long ways = 0;
            for (const char a : letters)
                ways += i < DOT_SEGMENTS ? a == c
                                         : tolower(static_cast<unsigned char>(a)) ==
                                               tolower(static_cast<unsigned char>(c));
            spellings *= ways;
        }
        count += spellings;
    }
    return count;
}

bool
is_unusable_code(const char *code) noexcept
{
    const std::string_view candidate(code);

    return candidate == unusable_codes[0] || candidate == unusable_codes[1] || is_reserved_word(code);
}
