/*
 * error_report.cpp
 *    From a url_shortener::Error to a line on stderr and an exit code.
 */
#include "error_report.h"

#include <iostream>

#include "exit_codes.h"

namespace url_shortener::cli {

namespace {

/*
 * The length of the well-formed UTF-8 sequence that starts at text[i] (a
 * byte of 0x80 or more), or 0 if none does: the Unicode Standard's table
 * of well-formed byte sequences (3-7), so no overlong form, surrogate or
 * code point above U+10FFFF.
 */
std::size_t utf8_sequence_at(const std::string &text, std::size_t i)
{
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xbf;   /* of the byte after the first */
    if (byte >= 0xc2 && byte <= 0xdf) {
        length = 2;
    } else if (byte >= 0xe0 && byte <= 0xef) {
        length = 3;
        low = byte == 0xe0 ? 0xa0 : 0x80;
        high = byte == 0xed ? 0x9f : 0xbf;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
        length = 4;
        low = byte == 0xf0 ? 0x90 : 0x80;
        high = byte == 0xf4 ? 0x8f : 0xbf;
    }
    if (length == 0 || i + length > text.size())
        return 0;
    for (std::size_t k = 1; k < length; ++k) {
        const auto next = static_cast<unsigned char>(text[i + k]);
        if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xbf))
            return 0;
    }
    return length;
}

} // namespace

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
        if (byte < 0x20 || byte == 0x7f) {
            escape(result, byte);
            continue;
        }
        if (byte < 0x80) {
            result += text[i];
            continue;
        }
        const std::size_t length = utf8_sequence_at(text, i);
        /* Not UTF-8 (a lone 0x9b is CSI to an 8-bit terminal), or U+0080..
         * U+009F in UTF-8 (C2 80..C2 9F): the C1 controls.  Escaped. */
        const bool c1 = length == 2 && byte == 0xc2 && static_cast<unsigned char>(text[i + 1]) <= 0x9f;
        if (length == 0 || c1) {
            const std::size_t escaped = c1 ? 2 : 1;
            for (std::size_t k = 0; k < escaped; ++k)
                escape(result, static_cast<unsigned char>(text[i + k]));
            i += escaped - 1;
            continue;
        }
        result.append(text, i, length);
        i += length - 1;
    }
    return result;
}

std::string quoted(const std::string &text)
{
    if (text.size() <= quoted_bytes)
        return "\"" + printable(text) + "\"";
    std::size_t cut = quoted_bytes;
    /* Not in the middle of a UTF-8 sequence: back to its first byte. */
    for (std::size_t back = 0; back < 3 && cut > 0 &&
                               (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80;
         ++back)
        --cut;
    return "\"" + printable(text.substr(0, cut)) + "\"... (" + std::to_string(text.size()) +
           " bytes)";
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
        /* A link sent with a key (the client's own, or --idempotency-key):
         * the same key settles it.  The library's what() then advises its
         * API; this says how with the command line.  A batch (several URLs,
         * one transaction) has a key per URL, which shorten cannot take. */
        const auto &keys = static_cast<const OutcomeUnknown &>(e).idempotency_keys();
        if (command.rfind("shorten", 0) == 0 && keys.size() == 1) {
            std::cerr << "the connection to the server was lost after the link was sent, so it may "
                         "or may not have been stored (sqlstate "
                      << e.sqlstate()
                      << "); to settle it without storing it twice, run url-shortener " << command
                      << " again for this URL alone, with the same options and --idempotency-key "
                      << printable(keys[0])
                      << ": it prints the code if the link was stored, and stores it once if not\n";
            return exit_outcome_unknown;
        }
        if (command.rfind("shorten", 0) == 0 && keys.size() > 1) {
            std::cerr << "the connection to the server was lost after the links were sent, so "
                         "all or none of them were stored (sqlstate "
                      << e.sqlstate() << "; check whether the links exist before running again)\n";
            return exit_outcome_unknown;
        }
        /* The server's reason, when it gave one ("terminating connection
         * due to administrator command"), and what is in doubt. */
        std::cerr << e.what();
        const std::string reason = e.primary_message().substr(0, e.primary_message().find('\n'));
        if (reason != e.what())
            std::cerr << ": " << reason;   /* libpq's further lines would break the one line */
        std::cerr << (command == "resolve"
                          ? " (the click may or may not have been counted; running it again "
                            "counts another)\n"
                      : command.rfind("shorten", 0) == 0 || command == "import"
                          ? " (check whether the link exists before running again)\n"
                      : command == "purge"
                          ? " (the expired links may or may not have been purged; running it "
                            "again is safe)\n"
                          : " (run url-shortener stats CODE to see whether the change was made "
                            "before running it again)\n");
        return exit_outcome_unknown;
    }
    if (dynamic_cast<const ConnectionLost *>(&e)) {
        /* Also stats whose connection was lost twice (the library tries a
         * read once more on a new connection): it is never OutcomeUnknown. */
        std::cerr << e.what() << " ("
                  << (command == "stats" ? "stats changes nothing: running it again is safe; " : "")
                  << "check --dsn or PGHOST, PGPORT and PGDATABASE)\n";
        return exit_server_failure;
    }
    if (!e.sqlstate().empty())
        std::cerr << "server error " << e.sqlstate() << ": ";
    std::cerr << e.what();
    if (e.sqlstate() == "42704")
        std::cerr << " (run CREATE EXTENSION url_shortener in this database, or connect to "
                     "the one that has it)";
    else if (e.sqlstate() == "57014")
        std::cerr << " (it ran longer than --statement-timeout; "
                  << (command == "resolve" ? "no click was counted"
                      : command == "stats" ? "it changes nothing"
                      : command.rfind("shorten", 0) == 0 || command == "import"
                          ? "nothing was stored"
                          : "nothing was changed")
                  << ")";
    else if (e.sqlstate() == "42501")
        std::cerr << " (ask an administrator to GRANT USAGE on the extension's schema and "
                     "EXECUTE on the functions this command calls; see Privileges in the "
                     "README)";
    std::cerr << '\n';
    return exit_server_failure;
}

} // namespace url_shortener::cli
