/*
 * error_report.h
 *    One line on stderr for a url_shortener::Error, with the advice that
 *    fits the command that failed, and the exit code (exit_codes.h) for it.
 */
#ifndef URL_SHORTENER_CLI_ERROR_REPORT_H
#define URL_SHORTENER_CLI_ERROR_REPORT_H

#include <cstddef>
#include <string>

#include "url_shortener/errors.h"

namespace url_shortener::cli {

/*
 * Writes "url-shortener: <prefix><what happened> (<advice>)" and returns the
 * exit code.  command is the subcommand as typed ("shorten --locked",
 * "resolve", ...), so advice never names another command's options.
 */
int report_error(const Error &error, const std::string &command, const std::string &prefix = {});

/*
 * text (a URL from the command line or an input file) safe to echo on a
 * terminal: bytes below 0x20 and 0x7f, the C1 controls U+0080..U+009F as
 * UTF-8 writes them (C2 80..C2 9F, both bytes), and every byte that is not
 * part of well-formed UTF-8 (a lone 0x9b is CSI to an 8-bit terminal),
 * written as \xNN (lower-case hex), so no escape sequence in it reaches the
 * terminal.  Other characters, in well-formed UTF-8, are left as they are.
 */
std::string printable(const std::string &text);

/* How much of an echoed URL or code quoted() shows. */
inline constexpr std::size_t quoted_bytes = 200;

/*
 * text as printable() writes it, in double quotes; of a text longer than
 * quoted_bytes only the first quoted_bytes (cut before a character, not
 * in it) and its size: "https://a.example/aaaa"... (5021 bytes).  So a
 * refused 1 MB line is not echoed whole.
 */
std::string quoted(const std::string &text);

} // namespace url_shortener::cli

#endif
