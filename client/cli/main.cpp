/*
 * main.cpp
 *    url-shortener: the command line for the url_shortener extension.
 *
 *      url-shortener [GLOBAL] shorten [--locked] [--alias A | --reuse | --idempotency-key K]
 *                                     [--expires-in SECONDS] [--max-clicks N] URL...|-
 *      url-shortener [GLOBAL] resolve CODE
 *      url-shortener [GLOBAL] import [--batch-size N] [--idempotency-prefix P] FILE|-
 *      url-shortener [GLOBAL] update CODE URL --version N
 *      url-shortener [GLOBAL] stats|disable|enable|delete CODE
 *      url-shortener [GLOBAL] purge [--batch-size N]
 *      url-shortener --version | --help
 *
 *    GLOBAL: --dsn DSN, --connect-timeout SECONDS, --statement-timeout
 *    SECONDS, --json, --base-url URL.  Without --dsn the connection comes
 *    from libpq's environment (PGHOST, PGPORT, PGDATABASE, PGUSER,
 *    PGOPTIONS, ...).  Exit codes: exit_codes.h.
 */
#include <cerrno>
#include <csignal>
#include <chrono>
#include <climits>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "error_report.h"
#include "exit_codes.h"
#include "output.h"
#include "url_shortener/client.h"
#include "url_shortener/rfc3339.h"
#include "url_shortener/version.h"

using namespace url_shortener;
using namespace url_shortener::cli;

namespace {

/* The longest timeout the options take: statement_timeout is an int of milliseconds. */
constexpr int max_timeout_seconds = 2147483;

/* The most URLs import sends in one statement. */
constexpr long long max_import_batch_size = 1000000;

/* --expires-in at most 100 years of 366 days (3162240000 s): far beyond any use, far
 * inside the clock's range. */
constexpr long long max_expires_in_seconds = 100LL * 366 * 24 * 3600;

/*
 * The longest --idempotency-prefix: a key is at most 255 bytes, and ":" and
 * a line number of up to 20 digits follow the prefix.
 */
constexpr std::size_t max_idempotency_prefix_bytes = 255 - 1 - 20;

/* A usage error: thrown while checking options, reported as exit 2. */
struct UsageError {
    std::string message;
};

/*
 * text as a whole number in [min, max], or a UsageError naming option and
 * the range in plain words.  Every numeric option goes through here, so
 * all take the same form: decimal digits only (no sign, space, hex or
 * exponent), and a value past max, however many digits, is refused rather
 * than clamped.
 */
long long whole_number(const std::string &option, const std::string &text, long long min,
                       long long max)
{
    bool ok = !text.empty();
    long long value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') {
            ok = false;
            break;
        }
        /* Stops before value passes max: it never overflows. */
        if (value > (max - (c - '0')) / 10) {
            ok = false;
            break;
        }
        value = value * 10 + (c - '0');
    }
    if (!ok || value < min || value > max)
        throw UsageError{option + " must be a whole number from " + std::to_string(min) + " to " +
                         std::to_string(max) + ", not \"" + printable(text) + "\""};
    return value;
}

/* Set once the command may have sent something to the server. */
bool may_have_sent = false;

/*
 * What a failed write of the output leaves done, after "the command
 * itself succeeded": command as in command_name below.
 */
std::string done_despite_lost_output(const std::string &command)
{
    if (command.rfind("shorten", 0) == 0 || command == "import")
        return " (the links are stored, their codes lost), check before running it again";
    if (command == "resolve")
        return " (the click was counted)";
    if (command == "stats")
        return " (it changes nothing: running it again is safe)";
    return " (its change is made), check before running it again";
}

/* Runs the command line; main() adds a last resort for what this does not catch. */
int run_command_line(int argc, char **argv);

} // namespace

int main(int argc, char **argv)
{
    /*
     * Last resort: an exception that nothing else caught (memory running
     * out, a library's own) is one line and exit 6, never an abort.  Before
     * anything was sent nothing was stored; after, the outcome is unknown.
     */
    try {
        return run_command_line(argc, argv);
    } catch (const std::bad_alloc &) {
        std::cerr << "url-shortener: out of memory";
    } catch (const std::exception &e) {
        std::cerr << "url-shortener: unexpected error: " << printable(e.what());
    } catch (...) {
        std::cerr << "url-shortener: unexpected error";
    }
    std::cerr << (may_have_sent ? "; the command may or may not have taken effect, check before "
                                  "running it again\n"
                                : "; nothing was stored\n");
    return exit_outcome_unknown;
}

namespace {

int run_command_line(int argc, char **argv)
{
    /* A reader that goes away is a failed write (exit 6 below, with a
     * message), not a silent death by SIGPIPE after links were stored. */
    std::signal(SIGPIPE, SIG_IGN);
    CLI::App app{"Shorten and resolve links stored by the url_shortener PostgreSQL extension."};
    app.footer(exit_code_help);
    app.set_version_flag("--version", std::string("url-shortener ") + URL_SHORTENER_CLIENT_VERSION,
                         "Print the version and exit");
    app.require_subcommand(1);
    app.fallthrough();

    std::string dsn;
    app.add_option("--dsn", dsn,
                   "libpq connection string or URI; default: PGHOST, PGDATABASE, ... from the "
                   "environment");
    ClientOptions client_options;
    /* Numbers are taken as text, and whole_number() reads them all alike. */
    std::string connect_timeout = std::to_string(client_options.connect_timeout.count());
    app.add_option("--connect-timeout", connect_timeout,
                   "Give up connecting after SECONDS (at least 2; 0 waits as long as the system "
                   "does)")
        ->type_name("SECONDS")
        ->capture_default_str();
    std::string statement_timeout =
        std::to_string(client_options.statement_timeout.count() / 1000);
    app.add_option("--statement-timeout", statement_timeout,
                   "The server cancels a statement running longer than SECONDS (0: the "
                   "server's own statement_timeout)")
        ->type_name("SECONDS")
        ->capture_default_str();
    bool json = false;
    app.add_flag("--json", json, "Print results as JSON: one object per line (per link)");
    std::string base_url;
    app.add_option("--base-url", base_url,
                   "Print full short URLs: BASE joined with the code (e.g. https://s.example/)")
        ->type_name("BASE");

    std::string code;
    std::vector<std::string> urls;
    bool locked = false;
    ShortenOptions shorten_options;
    std::string expires_in, max_clicks;
    CLI::App *shorten = app.add_subcommand("shorten", "Print a new short code for each URL");
    shorten->add_option("URL", urls, "absolute http(s) URL; - alone reads one URL per line from stdin")
        ->required();
    shorten->add_flag("--locked", locked,
                      "Serialize code generation with other --locked callers (shorten_url_locked)");
    CLI::Option *alias_option = shorten->add_option(
        "--alias", shorten_options.alias, "Store under this code (A-Z a-z 0-9 _ -, up to 64) instead of a random one");
    CLI::Option *reuse_option =
        shorten->add_flag("--reuse", shorten_options.reuse,
                          "Print the URL's existing reusable link, or make one")
            ->excludes(alias_option);
    /* A reusable link has no limits (the extension refuses the mix): a
     * usage error here, as --reuse with --alias is. */
    CLI::Option *expires_in_option = shorten->add_option("--expires-in", expires_in,
                        "The link resolves for this many seconds from now (1 to " +
                            std::to_string(max_expires_in_seconds) +
                            ", 100 years of 366 days)")
        ->type_name("SECONDS")
        ->excludes(reuse_option);
    std::string expires_at;
    CLI::Option *expires_at_option = shorten->add_option("--expires-at", expires_at,
                        "The link resolves until this time, in RFC 3339 (2030-01-31T12:00:00Z, "
                        "or with an offset and fractions of a second)")
        ->type_name("TIME")
        ->excludes(reuse_option)
        ->excludes(expires_in_option);
    CLI::Option *max_clicks_option = shorten->add_option("--max-clicks", max_clicks, "The link resolves this many times, then no more")
        ->type_name("N")
        ->excludes(reuse_option);
    CLI::Option *key_option = shorten->add_option(
        "--idempotency-key", shorten_options.idempotency_key,
        "Send this key (1 to 255 bytes) with the link: the same command run again with it prints "
        "the same code and stores nothing twice (after a lost connection, exit 6, this settles "
        "whether the link was stored)")
        ->type_name("KEY")
        ->excludes(alias_option)
        ->excludes(reuse_option);
    shorten->footer(exit_code_help);

    std::string edit_url;
    std::string expected_version;
    CLI::App *update = app.add_subcommand("update", "Point CODE at URL if nobody changed it since --version");
    update->add_option("CODE", code, "short code")->required();
    update->add_option("URL", edit_url, "the new absolute http(s) URL")->required();
    update->add_option("--version", expected_version, "the version stats printed")
        ->type_name("N")
        ->required();
    update->footer(exit_code_help);

    std::vector<CLI::App *> code_commands;
    for (const char *name : {"stats", "disable", "enable", "delete"}) {
        static const std::map<std::string, std::string> help = {
            {"stats", "Print what is known of the link"},
            {"disable", "Make the link resolve to nothing until enabled"},
            {"enable", "Undo disable"},
            {"delete", "Retire the link: it resolves no more, its code stays taken"}};
        CLI::App *command = app.add_subcommand(name, help.at(name));
        command->add_option("CODE", code, "short code")->required();
        command->footer(exit_code_help);
        code_commands.push_back(command);
    }

    std::string batch_size = "1000";
    CLI::App *purge = app.add_subcommand(
        "purge", "Retire expired and used-up links (their codes stay taken); print how many");
    purge->add_option("--batch-size", batch_size, "links retired per statement")
        ->type_name("N")
        ->capture_default_str();
    purge->footer(exit_code_help);

    CLI::App *resolve = app.add_subcommand("resolve", "Print the URL a code stands for and count a click");
    resolve->add_option("CODE", code, "short code")->required();
    resolve->footer(exit_code_help);

    std::string path;
    std::string import_batch_size = std::to_string(client_options.batch_chunk_size);
    CLI::App *import = app.add_subcommand(
        "import", "Shorten one URL per line of FILE (- for stdin), all or none; print CODE<TAB>URL. "
                  "Whitespace around a URL is trimmed; blank lines, lines starting with # and a UTF-8 "
                  "byte order mark opening the input are skipped; a line over 1048576 bytes is "
                  "refused");
    import->add_option("FILE", path, "file of URLs, or - for standard input")->required();
    import->add_option("--batch-size", import_batch_size, "URLs per statement (all in one transaction)")
        ->type_name("N")
        ->capture_default_str();
    ImportOptions import_options;
    std::string idempotency_prefix;
    CLI::Option *prefix_option = import->add_option(
        "--idempotency-prefix", idempotency_prefix,
        "Idempotency key of line N is PREFIX:N (1 to " +
            std::to_string(max_idempotency_prefix_bytes) +
            " bytes) instead of SHA256:N, SHA256 being the input's SHA-256 in hex. "
            "Running an import again with the same keys prints the same codes and stores "
            "nothing twice; a key used before for another URL exits with 9")
        ->type_name("PREFIX");
    import->footer(exit_code_help);

    int purge_batch_size = 0;
    long long version = 0;
    try {
        app.parse(argc, argv);
        /* An alias names one link; "-" is checked once stdin is read. */
        if (alias_option->count() > 0 && urls.size() > 1)
            throw UsageError{"--alias names one link: give one URL"};
        /* Given, even empty (a script's unset variable), is given: an empty
         * value is refused, never taken for the option left out. */
        if (alias_option->count() > 0 && shorten_options.alias.empty())
            throw UsageError{"--alias must not be empty"};
        if (key_option->count() > 0 && urls.size() > 1)
            throw UsageError{"--idempotency-key is one link's: give one URL"};
        if (key_option->count() > 0 && shorten_options.idempotency_key.empty())
            throw UsageError{"--idempotency-key must not be empty"};
        /* The key stands for the URL and its options, the expiry to the
         * microsecond: a second run would ask for another (exit 9). */
        if (key_option->count() > 0 && expires_in_option->count() > 0)
            throw UsageError{"--expires-in counts from each run, so a second run with the same "
                             "--idempotency-key would ask for another expiry: give --expires-at "
                             "instead"};
        if (expires_at_option->count() > 0) {
            shorten_options.expires_at = parse_rfc3339(expires_at);
            if (!shorten_options.expires_at)
                throw UsageError{"--expires-at takes an RFC 3339 time such as 2030-01-31T12:00:00Z, "
                                 "not " + url_shortener::cli::quoted(expires_at)};
        }
        if (expires_in_option->count() > 0)
            shorten_options.expires_in_seconds =
                whole_number("--expires-in", expires_in, 1, max_expires_in_seconds);
        if (max_clicks_option->count() > 0)
            shorten_options.max_clicks = whole_number("--max-clicks", max_clicks, 1, LLONG_MAX);
        client_options.connect_timeout = std::chrono::seconds(
            whole_number("--connect-timeout", connect_timeout, 0, max_timeout_seconds));
        client_options.statement_timeout = std::chrono::seconds(
            whole_number("--statement-timeout", statement_timeout, 0, max_timeout_seconds));
        if (purge->parsed())
            purge_batch_size = static_cast<int>(whole_number("--batch-size", batch_size, 1, INT_MAX));
        if (import->parsed())
            client_options.batch_chunk_size = static_cast<std::size_t>(
                whole_number("--batch-size", import_batch_size, 1, max_import_batch_size));
        if (update->parsed())
            version = whole_number("--version", expected_version, 1, LLONG_MAX);
        for (const unsigned char c : base_url)
            if (c <= 0x20 || c >= 0x7f)
                throw UsageError{"--base-url must be printable ASCII without spaces "
                                 "(percent-encode anything else)"};
        if (prefix_option->count() > 0) {
            if (idempotency_prefix.empty() ||
                idempotency_prefix.size() > max_idempotency_prefix_bytes)
                throw UsageError{"--idempotency-prefix must be 1 to " +
                                 std::to_string(max_idempotency_prefix_bytes) + " bytes long"};
            import_options.idempotency_prefix = idempotency_prefix;
        }
    } catch (const CLI::ParseError &e) {
        /* --help and --version are "parse errors" that succeed; CLI11 prints them. */
        if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
            /* Help that cannot be written is a failure too (as for any command). */
            errno = 0;
            const int status = app.exit(e);
            std::cout.flush();
            if (!std::cout) {
                std::cerr << "url-shortener: could not write the output"
                          << (errno ? std::string(": ") + std::strerror(errno) : std::string())
                          << "\n";
                return exit_outcome_unknown;
            }
            return status;
        }
        std::cerr << "url-shortener: " << e.what() << " (see url-shortener --help)\n";
        return exit_usage;
    } catch (const UsageError &e) {
        std::cerr << "url-shortener: " << e.message << " (see url-shortener --help)\n";
        return exit_usage;
    }

    std::string command_name;
    for (const CLI::App *command : app.get_subcommands())
        command_name = command->get_name();
    if (locked)
        command_name += " --locked";

    Output out(std::cout, json, base_url);
    const int status = [&]() -> int {
    try {
        /* Before connecting: input that cannot be read is the caller's to
         * fix (exit 3), also while the database cannot be reached. */
        std::optional<UrlLines> import_lines;
        if (import->parsed() && !(import_lines = read_import_input(path)))
            return exit_invalid_input;
        if (shorten->parsed())
            if (const std::optional<int> refused = read_shorten_input(urls, shorten_options))
                return *refused;
        std::optional<Client> connected;
        may_have_sent = true;
        try {
            connected.emplace(dsn, client_options);
        } catch (const InvalidArgument &e) {
            /* A --dsn libpq cannot parse is a usage error, not a server failure. */
            std::cerr << "url-shortener: --dsn: " << e.what() << " (see url-shortener --help)\n";
            return exit_usage;
        }
        Client &client = *connected;
        if (shorten->parsed())
            return shorten_command(client, out, urls, locked, shorten_options);
        if (resolve->parsed())
            return resolve_command(client, out, code);
        if (update->parsed())
            return update_command(client, out, code, edit_url, version);
        for (CLI::App *command : code_commands)
            if (command->parsed())
                return code_command(client, out, command->get_name(), code);
        if (purge->parsed())
            return purge_command(client, out, purge_batch_size);
        return import_command(client, out, path, std::move(*import_lines), import_options);
    } catch (const Error &e) {
        return report_error(e, command_name);
    }
    }();
    /* Codes printed into a full disk or a closed pipe are lost: the links
     * were stored (the clicks counted), so the caller must not take this
     * for a success, nor run it again blindly. */
    if (!out.flush() && !out.lost_reported()) {
        out.report_lost(status == exit_success
                            ? "the command itself succeeded" + done_despite_lost_output(command_name)
                            : std::string());
        return status == exit_success ? exit_outcome_unknown : status;
    }
    return status;
}

} // namespace
