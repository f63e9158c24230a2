/*
 * error_report.cpp
 *    From a url_shortener::Error to a line on stderr and an exit code.
 */
#include "error_report.h"

#include <iostream>

#include "exit_codes.h"

namespace url_shortener::cli {

std::string printable(const std::string &text)
{
    static const char hex[] = "0123456789abcdef";
    const auto escape = [](std::string &out, unsigned char byte) {
        out += "\\x";
        out += hex[byte >> 4];
        out += hex[byte & 0xf];
    };
    std::string result;
    result.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
        if (byte < 0x20 || byte == 0x7f) {
            escape(result, byte);
        } else if (byte == 0xc2 && next >= 0x80 && next <= 0x9f) {
            /* U+0080..U+009F in UTF-8: C1 controls (0x9b is CSI, as ESC [ is). */
            escape(result, byte);
            escape(result, next);
            ++i;
        } else {
            result += text[i];
        }
    }
    return result;
}

int report_error(const Error &e, const std::string &command, const std::string &prefix)
{
    std::cerr << "url-shortener: " << prefix;
    if (dynamic_cast<const AliasTaken *>(&e)) {
        std::cerr << e.what() << '\n';
        return exit_alias_taken;
    }
    if (dynamic_cast<const VersionConflict *>(&e)) {
        /* The server's hint names the SQL function; this names the command. */
        std::cerr << e.primary_message();
        if (!e.detail().empty())
            std::cerr << ": " << e.detail();
        std::cerr << " (run url-shortener stats CODE for the current version, then update "
                     "again)\n";
        return exit_version_conflict;
    }
    if (dynamic_cast<const IdempotencyConflict *>(&e)) {
        std::cerr << e.primary_message();
        if (!e.detail().empty())
            std::cerr << ": " << e.detail();
        std::cerr << " (nothing was stored; the key belongs to another request)\n";
        return exit_idempotency_conflict;
    }
    if (dynamic_cast<const InvalidInput *>(&e)) {
        std::cerr << e.what() << '\n';
        return exit_invalid_input;
    }
    if (dynamic_cast<const CodeSpaceExhausted *>(&e)) {
        std::cerr << e.what() << '\n';   /* the server's hint says what to do */
        return exit_code_space_exhausted;
    }
    if (dynamic_cast<const LockTimeout *>(&e)) {
        std::cerr << e.what()
                  << (command == "shorten --locked"
                          ? " (another shorten --locked holds the lock; try again)\n"
                          : " (another session holds a lock on the link; try again)\n");
        return exit_server_failure;
    }
    if (dynamic_cast<const OutcomeUnknown *>(&e)) {
        std::cerr << e.what() << " (check whether the link exists before running again)\n";
        return exit_outcome_unknown;
    }
    if (dynamic_cast<const ConnectionLost *>(&e)) {
        std::cerr << e.what() << " (check --dsn or PGHOST, PGPORT and PGDATABASE)\n";
        return exit_server_failure;
    }
    if (!e.sqlstate().empty())
        std::cerr << "server error " << e.sqlstate() << ": ";
    std::cerr << e.what();
    if (e.sqlstate() == "42704")
        std::cerr << " (run CREATE EXTENSION url_shortener in this database, or connect to "
                     "the one that has it)";
    else if (e.sqlstate() == "57014")
        std::cerr << " (it ran longer than --statement-timeout; nothing was stored)";
    else if (e.sqlstate() == "42501")
        std::cerr << " (ask an administrator to GRANT EXECUTE on the url_shortener functions)";
    std::cerr << '\n';
    return exit_server_failure;
}

} // namespace url_shortener::cli
