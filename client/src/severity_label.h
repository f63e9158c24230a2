/*
 * severity_label.h
 *    The severity libpq writes before a server's message: "ERROR:  ", or
 *    its translation under the server's lc_messages ("FEHLER:  ",
 *    "ERREUR:  ", ...), since libpq prints the severity the server sent.
 *    The extension's own messages are not translated, so once the label is
 *    gone they read the same in every language.
 */
#ifndef URL_SHORTENER_SEVERITY_LABEL_H
#define URL_SHORTENER_SEVERITY_LABEL_H

#include <cstddef>
#include <string_view>

namespace url_shortener {

/* The length of the severity label at the start of a message's first
 * line (one word, a colon and two spaces), or 0 if it has none (libpq's
 * own messages). */
inline std::size_t severity_label_length(std::string_view line)
{
    constexpr std::size_t longest_word = 32;   /* bytes: "PERINGATAN", "ОШИБКА" in UTF-8 */
    const std::size_t colon = line.find(":  ");
    if (colon == 0 || colon == std::string_view::npos || colon > longest_word ||
        line.substr(0, colon).find_first_of(" \t\"") != std::string_view::npos)
        return 0;
    return colon + 3;
}

} // namespace url_shortener

#endif
