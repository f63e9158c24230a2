/*
 * commands.cpp
 *    The subcommands: shorten, resolve, import, update, stats, disable,
 *    enable, delete, purge.
 */
#include "commands.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include <unistd.h>

#include "error_report.h"
#include "exit_codes.h"
#include "interrupt_notice.h"
#include "url_lines.h"
#include "url_shortener/rfc3339.h"

namespace url_shortener::cli {

namespace {

int no_such_link(const std::string &code)
{
    std::cerr << "url-shortener: no link has the code " << quoted(code) << "\n";
    return exit_not_found;
}

/*
 * Why code resolved to nothing, from its stats: disabled, expired, used up,
 * or no such link.  Against extension 1.0 (no stats) only the last.  An
 * enabled link with clicks left and an expiry was refused for its expiry,
 * by the database's clock: this machine's is not asked.
 */
int explain_unresolved(Client &client, const std::string &code)
{
    std::optional<LinkStats> st;
    try {
        st = client.stats(code);
    } catch (const ServerError &) {
        /* 1.0 has no stats; the plain message is all there is to say. */
    }
    if (!st)
        return no_such_link(code);
    std::cerr << "url-shortener: the link " << quoted(code) << " ";
    if (!st->enabled)
        std::cerr << "is disabled (url-shortener enable " << printable(code)
                  << " turns it back on)";
    else if (st->max_clicks && st->clicks >= *st->max_clicks)
        std::cerr << "has been used up: it had " << *st->max_clicks << " clicks";
    else if (st->expires_at)
        std::cerr << "has expired";
    else
        std::cerr << "resolves to nothing";
    std::cerr << '\n';
    return exit_not_found;
}

/* Whether standard input is a directory (a read of it fails with EISDIR). */
bool stdin_is_a_directory()
{
    struct stat st {};
    return fstat(STDIN_FILENO, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * Whether import may use lines: false, said on stderr, if reading stopped
 * at a line no URL can be (the rest of the input was not read).
 */
bool refuse_too_long_line(const UrlLines &lines, const std::string &source)
{
    if (!lines.too_long_line)
        return true;
    std::cerr << "url-shortener: import stored nothing: line " << *lines.too_long_line << " of "
              << source << " was refused: " << too_long_line_reason() << '\n';
    return false;
}

/*
 * What shorten one URL at a time leaves when the code of URL n (0-based)
 * of count could not be written: n + 1 links stored, the codes before it
 * printed (flushed, each on its own), its own lost, the rest not stored.
 */
std::string lost_code_report(std::size_t n, std::size_t count)
{
    std::string report;
    if (count == 1)
        report = "the link is stored, its code lost";
    else if (n == 0)
        report = "stored the first of " + std::to_string(count) + " URLs, its code lost";
    else
        report = "stored the first " + std::to_string(n + 1) + " of " + std::to_string(count) +
                 " URLs, the codes of the first " + std::to_string(n) +
                 " printed, the last one's lost";
    if (n + 1 < count)
        report += ", not the other " + std::to_string(count - n - 1);
    return report + ": check before running it again";
}

/* The link options of the command line; expires_in is from now. */
LinkOptions link_options(const ShortenOptions &options)
{
    LinkOptions link;
    if (!options.alias.empty())
        link.alias = options.alias;
    link.reuse = options.reuse;
    if (options.expires_in_seconds)
        link.expires_at =
            std::chrono::system_clock::now() + std::chrono::seconds(*options.expires_in_seconds);
    if (options.expires_at)
        link.expires_at = options.expires_at;
    link.max_clicks = options.max_clicks;
    if (!options.idempotency_key.empty())
        link.idempotency_key = options.idempotency_key;
    return link;
}

} // namespace

std::optional<int> read_shorten_input(std::vector<std::string> &urls, const ShortenOptions &options)
{
    if (urls.size() != 1 || urls[0] != "-")
        return std::nullopt;
    if (stdin_is_a_directory()) {
        std::cerr << "url-shortener: shorten -: cannot read standard input: it is a directory; "
                     "stored nothing\n";
        return exit_invalid_input;
    }
    UrlLines lines = read_url_lines(std::cin);
    if (std::cin.bad() || std::ferror(stdin)) {
        std::cerr << "url-shortener: shorten -: cannot read standard input: read error; "
                     "stored nothing\n";
        return exit_invalid_input;
    }
    if (lines.too_long_line) {
        std::cerr << "url-shortener: shorten -: stored nothing: line " << *lines.too_long_line
                  << " of standard input was refused: " << too_long_line_reason() << '\n';
        return exit_invalid_input;
    }
    urls = std::move(lines.urls);
    if (urls.empty()) {
        std::cerr << "url-shortener: shorten -: standard input held no URL\n";
        return exit_usage;
    }
    if (!options.alias.empty() && urls.size() > 1) {
        std::cerr << "url-shortener: shorten -: --alias names one link, standard input held "
                  << urls.size() << " URLs; stored nothing\n";
        return exit_usage;
    }
    if (!options.idempotency_key.empty() && urls.size() > 1) {
        std::cerr << "url-shortener: shorten -: --idempotency-key is one link's, standard input held "
                  << urls.size() << " URLs; stored nothing\n";
        return exit_usage;
    }
    return std::nullopt;
}

int shorten_command(Client &client, Output &out, const std::vector<std::string> &urls,
                    bool locked, const ShortenOptions &options)
{
    const LinkOptions link = link_options(options);
    const bool plain =
        !link.alias && !link.reuse && !link.expires_at && !link.max_clicks && !link.idempotency_key;

    if (plain && !locked) {
        /* All or none: every URL is checked before any is stored. */
        std::vector<std::string> codes;
        try {
            codes = client.shorten_many(urls);
        } catch (const InvalidUrl &e) {
            std::cerr << "url-shortener: stored nothing: ";
            if (e.batch_index())
                std::cerr << "URL " << *e.batch_index() + 1 << " of " << urls.size() << " ("
                          << quoted(urls[*e.batch_index()]) << ") was refused: "
                          << e.primary_message();
            else
                std::cerr << e.what();
            if (!e.detail().empty())
                std::cerr << ": " << e.detail();
            std::cerr << '\n';
            return exit_invalid_input;
        }
        for (std::size_t i = 0; i < urls.size(); ++i)
            out.link(codes[i], urls[i], false);
        return exit_success;
    }

    for (std::size_t i = 0; i < urls.size(); ++i) {
        try {
            const std::string code = plain ? client.shorten_locked(urls[i])
                                     : locked ? client.shorten_locked(urls[i], link)
                                              : client.shorten(urls[i], link);
            out.link(code, urls[i], false);
            /* A code that cannot be written is lost: storing the rest
             * would only lose theirs too. */
            if (!out.flush()) {
                out.report_lost(lost_code_report(i, urls.size()));
                return exit_outcome_unknown;
            }
        } catch (const Error &e) {
            std::string prefix;
            if (urls.size() > 1)
                prefix = "stored the first " + std::to_string(i) + " of " +
                         std::to_string(urls.size()) + " URLs (printed above), " +
                         (dynamic_cast<const OutcomeUnknown *>(&e) != nullptr
                              ? "this one maybe, not the rest: "
                              : "not the rest: ");
            prefix += quoted(urls[i]) + ": ";
            /* The key that would settle it goes with the expiry of this
             * run, which --expires-in would count afresh: name it, to the
             * microsecond, as --expires-at. */
            const auto *in_doubt = dynamic_cast<const OutcomeUnknown *>(&e);
            if (options.expires_in_seconds && in_doubt != nullptr &&
                in_doubt->idempotency_keys().size() == 1) {
                std::cerr << "url-shortener: " << prefix
                          << "the connection to the server was lost after the link was sent, so it "
                             "may or may not have been stored (sqlstate "
                          << e.sqlstate() << "); to settle it without storing it twice, run url-shortener "
                          << (locked ? "shorten --locked" : "shorten")
                          << " again for this URL alone, with the same options but --expires-at "
                          << format_rfc3339(*link.expires_at)
                          << " instead of --expires-in, and --idempotency-key "
                          << printable(in_doubt->idempotency_keys()[0])
                          << ": it prints the code if the link was stored, and stores it once if not\n";
                return exit_outcome_unknown;
            }
            return report_error(e, locked ? "shorten --locked" : "shorten", prefix);
        }
    }
    return exit_success;
}

int resolve_command(Client &client, Output &out, const std::string &code)
{
    const std::optional<std::string> url = client.resolve(code);
    if (!url)
        return explain_unresolved(client, code);
    out.resolved(code, *url);
    return exit_success;
}

int update_command(Client &client, Output &out, const std::string &code, const std::string &url,
                   long long expected_version)
{
    const std::optional<long long> version = client.update(code, url, expected_version);
    if (!version)
        return no_such_link(code);
    out.result(std::to_string(*version), {{"code", code}, {"version", *version}});
    return exit_success;
}

int code_command(Client &client, Output &out, const std::string &name, const std::string &code)
{
    if (name == "stats") {
        const std::optional<LinkStats> st = client.stats(code);
        if (!st)
            return no_such_link(code);
        out.stats(*st);
        return exit_success;
    }
    /* disable and enable report false also for a link already in that state. */
    const bool changed = name == "delete"    ? client.remove(code)
                         : name == "disable" ? client.disable(code)
                                             : client.enable(code);
    if (!changed && !client.stats(code))
        return no_such_link(code);
    if (out.json())
        out.result({}, {{"code", code}, {"command", name}, {"changed", changed}});
    return exit_success;
}

int purge_command(Client &client, Output &out, int batch_size)
{
    const long long purged = client.purge(batch_size);
    out.result(std::to_string(purged), {{"purged", purged}});
    return exit_success;
}

namespace {

/* Whether path can be read as a file; says why not on stderr. */
bool readable_file(const std::string &path)
{
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
        std::cerr << "url-shortener: cannot read \"" << path << "\": " << std::strerror(errno)
                  << '\n';
        return false;
    }
    if (S_ISDIR(st.st_mode)) {
        std::cerr << "url-shortener: cannot read \"" << path << "\": it is a directory\n";
        return false;
    }
    if (access(path.c_str(), R_OK) != 0) {
        std::cerr << "url-shortener: cannot read \"" << path << "\": " << std::strerror(errno)
                  << '\n';
        return false;
    }
    return true;
}

} // namespace

namespace {

/* Whether the extension version ("1.3") takes idempotency keys. */
bool takes_keys(const std::string &version)
{
    int major = 0, minor = 0;
    if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) < 1)
        return false;
    return major > 1 || (major == 1 && minor >= 3);
}

/*
 * The idempotency key of each line: PREFIX:LINE with --idempotency-prefix,
 * otherwise SHA256:LINE, the input's SHA-256 in hex, so the same input
 * gives the same keys however it is named or piped.
 */
std::vector<std::string> line_keys(const UrlLines &lines, const ImportOptions &options)
{
    const std::string prefix =
        (options.idempotency_prefix ? *options.idempotency_prefix : lines.sha256) + ":";
    std::vector<std::string> keys;
    keys.reserve(lines.line_numbers.size());
    for (const std::size_t number : lines.line_numbers)
        keys.push_back(prefix + std::to_string(number));
    return keys;
}

} // namespace

std::optional<UrlLines> read_import_input(const std::string &path)
{
    if (path == "-") {
        if (stdin_is_a_directory()) {
            std::cerr << "url-shortener: cannot read standard input: it is a directory\n";
            return std::nullopt;
        }
        UrlLines lines = read_url_lines(std::cin);
        /* std::cin reads through stdio: a failed read sets ferror(stdin),
         * not always badbit (a directory as stdin, a closed descriptor). */
        if (std::cin.bad() || std::ferror(stdin)) {
            std::cerr << "url-shortener: cannot read standard input: read error\n";
            return std::nullopt;
        }
        if (!refuse_too_long_line(lines, "standard input"))
            return std::nullopt;
        return lines;
    }
    if (!readable_file(path))
        return std::nullopt;
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        std::cerr << "url-shortener: cannot read \"" << path << "\": " << std::strerror(errno)
                  << '\n';
        return std::nullopt;
    }
    UrlLines lines = read_url_lines(file);
    if (file.bad()) {
        std::cerr << "url-shortener: cannot read \"" << path << "\": read error\n";
        return std::nullopt;
    }
    if (!refuse_too_long_line(lines, "\"" + path + "\""))
        return std::nullopt;
    return lines;
}

int import_command(Client &client, Output &out, const std::string &path, UrlLines lines,
                   const ImportOptions &options)
{
    /*
     * Keys need extension 1.3; without --idempotency-prefix an older one
     * imports as before (without keys), with it the library refuses.
     */
    const bool keyed = options.idempotency_prefix || takes_keys(client.server_version());

    BatchProgress progress;
    if (isatty(STDERR_FILENO))
        progress = [](std::size_t done, std::size_t total) {
            std::cerr << "\rshortened " << done << " of " << total << " urls" << std::flush;
        };
    const auto end_progress = [&] {
        if (progress)
            std::cerr << '\n';
    };
    const std::string source = path == "-" ? "standard input" : "\"" + path + "\"";

    /*
     * What an interrupt leaves: nothing until the COMMIT is sent (the
     * connection's end rolls the import back), then an unknown outcome
     * until its answer.  The COMMIT follows the last chunk's answer; once
     * that is in, a retry (after a lost COMMIT, with keys) stays in doubt.
     */
    const std::string how_to_settle =
        keyed ? std::string("running the same import again") +
                    (options.idempotency_prefix ? " with the same --idempotency-prefix" : "") +
                    " on the same input prints their codes and stores nothing twice"
              : std::string("the extension is older than 1.3, so the import has no idempotency "
                            "keys: check whether the links exist before running it again");
    say_on_interrupt("url-shortener: import interrupted before its COMMIT: nothing is stored");
    bool in_doubt = false;
    const BatchProgress progress_and_doubt = [&](std::size_t done, std::size_t total) {
        if (progress)
            progress(done, total);
        if (done == total && !in_doubt) {
            in_doubt = true;
            say_on_interrupt("url-shortener: import interrupted at its COMMIT: whether its " +
                             std::to_string(total) + " links are stored is unknown; " +
                             how_to_settle);
        }
    };

    std::vector<std::string> codes;
    try {
        if (keyed) {
            const std::vector<std::string> keys = line_keys(lines, options);
            codes = client.shorten_many(lines.urls, keys, progress_and_doubt);
        } else {
            codes = client.shorten_many(lines.urls, progress_and_doubt);
        }
    } catch (const InvalidUrl &e) {
        end_progress();
        std::cerr << "url-shortener: import stored nothing: ";
        if (e.batch_index())
            std::cerr << "line " << lines.line_numbers[*e.batch_index()] << " of " << source
                      << " was refused: " << e.primary_message()
                      << (e.detail().empty() ? "" : ": " + e.detail());
        else
            std::cerr << e.what();
        std::cerr << '\n';
        return exit_invalid_input;
    } catch (const IdempotencyConflict &e) {
        end_progress();
        std::cerr << "url-shortener: import stored nothing: ";
        if (e.batch_index())
            std::cerr << "line " << lines.line_numbers[*e.batch_index()] << " of " << source
                      << " (" << quoted(lines.urls[*e.batch_index()]) << "): ";
        std::cerr << e.primary_message() << (e.detail().empty() ? "" : ": " + e.detail());
        if (options.idempotency_prefix)
            std::cerr << " (--idempotency-prefix " << printable(*options.idempotency_prefix)
                      << " was used before with another URL on that line; choose another "
                         "prefix for other content)";
        std::cerr << '\n';
        return exit_idempotency_conflict;
    } catch (const ConnectionLost &e) {
        end_progress();
        std::cerr << "url-shortener: import stored nothing: " << e.what()
                  << " (nothing of the import was committed; running it again is safe)\n";
        return exit_server_failure;
    } catch (const OutcomeUnknown &e) {
        end_progress();
        std::cerr << "url-shortener: import: " << e.what();
        if (keyed)
            std::cerr << " (running the same import again"
                      << (options.idempotency_prefix ? " with the same --idempotency-prefix" : "")
                      << " on the same input is safe: it prints the same codes and stores "
                         "nothing twice)\n";
        else
            std::cerr << " (the extension is older than 1.3, so the import has no idempotency "
                         "keys: check whether the links exist before running it again)\n";
        return exit_outcome_unknown;
    }
    end_progress();

    /*
     * Stored: an interrupt from here on must say so, not end the tool as
     * silently as one before the COMMIT, which stores nothing.
     */
    std::string notice = "url-shortener: import interrupted after its COMMIT: all " +
                         std::to_string(codes.size()) +
                         " links are stored, their codes maybe not all printed; ";
    if (keyed)
        notice += std::string("running the same import again") +
                  (options.idempotency_prefix ? " with the same --idempotency-prefix" : "") +
                  " on the same input prints them all and stores nothing twice";
    else
        notice += "the extension is older than 1.3, so the import has no idempotency keys: "
                  "running it again would store every link twice";
    say_on_interrupt(std::move(notice));

    /*
     * Nothing is printed before the one COMMIT of the whole import: until
     * then no code is stored, and a failure stores none.  Written as it
     * goes; the URLs are dropped as their lines are printed.
     */
    for (std::size_t i = 0; i < codes.size(); ++i) {
        out.link(codes[i], lines.urls[i], true, lines.line_numbers[i]);
        std::string().swap(lines.urls[i]);
    }
    return exit_success;
}

} // namespace url_shortener::cli
