/*
 * reserved_codes.cpp
 *    The list of reserved words (documented in the README) and the checks
 *    that keep them, and dot segments, out of every code.
 */
#include "reserved_codes.h"

#include <iterator>
#include <string_view>
#include <cctype>
#include <climits>
#include <cstring>
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

/*
 * Every shorten_url call asks this (the capacity warning), so the alphabet
 * is read once, into how many of its letters spell each byte, exactly and
 * in either case; each word of the length is then a product of counts,
 * and the answer is kept for the next call with the same settings.
 * (Comparing every letter of every word with every letter of the alphabet
 * cost about 10 us a call at the default settings: 100,000 calls in one
 * transaction took three times as long, bench/one_tx.)
 */
unsigned long
unusable_codes_in(const char *alphabet, int length) noexcept
{
    /* The last answer, for the settings nearly every call has. */
    static char last_alphabet[128] = "";
    static int last_length = -1;
    static unsigned long last_count = 0;
    const std::size_t alphabet_length = strlen(alphabet);
    const bool memo = alphabet_length < sizeof last_alphabet;

    if (memo && length == last_length && strcmp(alphabet, last_alphabet) == 0)
        return last_count;

    unsigned long exact[UCHAR_MAX + 1] = {};
    unsigned long folded[UCHAR_MAX + 1] = {};
    unsigned long count = 0;

    for (const char *a = alphabet; *a != '\0'; a++) {
        const unsigned char letter = static_cast<unsigned char>(*a);
        exact[letter]++;
        folded[static_cast<unsigned char>(tolower(letter))]++;
    }
    for (std::size_t i = 0; i < std::size(unusable_codes); i++) {
        const std::string_view word = unusable_codes[i];
        if (word.size() != static_cast<std::size_t>(length))
            continue;
        /* Dot segments match exactly; words in any case (is_reserved_word). */
        unsigned long spellings = 1;
        for (const char c : word) {
            const unsigned char byte = static_cast<unsigned char>(c);
            spellings *= i < DOT_SEGMENTS ? exact[byte]
                                          : folded[static_cast<unsigned char>(tolower(byte))];
        }
        count += spellings;
    }
    if (memo) {
        memcpy(last_alphabet, alphabet, alphabet_length + 1);
        last_length = length;
        last_count = count;
    }
    return count;
}

bool
is_unusable_code(const char *code) noexcept
{
    const std::string_view candidate(code);

    return candidate == unusable_codes[0] || candidate == unusable_codes[1] || is_reserved_word(code);
}
