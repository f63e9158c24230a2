/*
 * reserved_codes.cpp
 *    The list of reserved words (documented in the README) and the checks
 *    that keep them, and dot segments, out of every code.
 */
#include "reserved_codes.h"

#include <cstring>
#include <strings.h>

/*
 * The two dot segments, then the words that would shadow the paths a web
 * front end typically serves itself.  An alias equal to a word is refused;
 * a random or derived code equal to any entry, whatever the alphabet, is
 * discarded like a taken code.
 */
const char *const unusable_codes[] = {
    ".", "..",
    "admin", "api", "app", "assets", "dashboard", "health", "healthz", "help",
    "login", "logout", "metrics", "settings", "signup", "static", "stats",
    "status", "www",
};
const int unusable_code_count = sizeof(unusable_codes) / sizeof(unusable_codes[0]);
static const int DOT_SEGMENTS = 2;

bool
is_reserved_word(const char *code) noexcept
{
    for (int i = DOT_SEGMENTS; i < unusable_code_count; i++)
        if (strcasecmp(code, unusable_codes[i]) == 0)
            return true;
    return false;
}

bool
is_unusable_code(const char *code) noexcept
{
    return strcmp(code, ".") == 0 || strcmp(code, "..") == 0 || is_reserved_word(code);
}
