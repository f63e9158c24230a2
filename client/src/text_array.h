/*
 * text_array.h
 *    Writing a list of strings as a PostgreSQL text[] literal, so a whole
 *    batch travels as one bound parameter.
 */
#ifndef URL_SHORTENER_CLIENT_TEXT_ARRAY_H
#define URL_SHORTENER_CLIENT_TEXT_ARRAY_H

#include <string>

namespace url_shortener {

/*
 * Returns {"a","b",...} for the strings in [first, last): every element
 * quoted, with backslash and double quote escaped, so no element is read as
 * NULL or split.  The strings must not contain NUL bytes.
 */
std::string text_array_literal(const std::string *first, const std::string *last);

} // namespace url_shortener

#endif
