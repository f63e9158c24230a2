/*
 * text_array.cpp
 *    PostgreSQL text[] literals for batch parameters.
 */
#include "text_array.h"

namespace url_shortener {

std::string text_array_literal(const std::string *first, const std::string *last)
{
    std::size_t size = 2;
    for (const std::string *s = first; s != last; ++s)
        size += s->size() + 3;

    std::string literal;
    literal.reserve(size);
    literal += '{';
    for (const std::string *s = first; s != last; ++s) {
        if (s != first)
            literal += ',';
        literal += '"';
        for (const char c : *s) {
            if (c == '"' || c == '\\')
                literal += '\\';
            literal += c;
        }
        literal += '"';
    }
    literal += '}';
    return literal;
}

} // namespace url_shortener
