/*
 * reserved_codes.cpp
 *    The list of reserved words (documented in the README) and the checks
 *    that keep them, and dot segments, out of every code.
 */
#include "reserved_codes.h"

#include <cstring>
#include <strings.h>

/*
 * Words that would shadow the paths a web front end typically serves
 * itself.  An alias equal to one is refused; a random or derived code equal
 * to one, whatever the alphabet, is discarded like a taken code.
 */
static const char *const reserved_words[] = {
    "admin", "api", "app", "assets", "dashboard", "health", "healthz", "help",
    "login", "logout", "metrics", "settings", "signup", "static", "stats",
    "status", "www",
};

bool
is_reserved_word(const char *code) noexcept
{
    for (const char *word : reserved_words)
        if (strcasecmp(code, word) == 0)
            return true;
    return false;
}

bool
is_unusable_code(const char *code) noexcept
{
    return strcmp(code, ".") == 0 || strcmp(code, "..") == 0 || is_reserved_word(code);
}
