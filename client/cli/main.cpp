/*
 * main.cpp
 *    url-shortener: the command line for the url_shortener extension.
 *
 *    Global options: --dsn DSN, --connect-timeout SECONDS,
 *    --statement-timeout SECONDS.
 *
 *      url-shortener [--dsn DSN] shorten [--locked] [--alias A | --reuse]
 *                                        [--expires-in SECONDS] [--max-clicks N] URL...
 *      url-shortener [--dsn DSN] resolve CODE
 *      url-shortener [--dsn DSN] import FILE|-
 *      url-shortener [--dsn DSN] update CODE URL --version N
 *      url-shortener [--dsn DSN] stats|disable|enable|delete CODE
 *      url-shortener [--dsn DSN] purge [--batch-size N]
 *
 *    Without --dsn the connection comes from libpq's environment (PGHOST,
 *    PGPORT, PGDATABASE, PGUSER, PGOPTIONS, ...).  Exit codes: exit_codes.h.
 */
#include <chrono>
#include <iostream>
#include <optional>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "exit_codes.h"
#include "url_shortener/client.h"

using namespace url_shortener;
using namespace url_shortener::cli;

namespace {

/* The longest timeout the options take: statement_timeout is an int of milliseconds. */
constexpr int max_timeout_seconds = 2147483;

/* One line on stderr saying what failed and what to do; returns the exit code. */
int report(const std::exception &error, int code, const char *advice)
{
    std::cerr << "url-shortener: " << error.what();
    if (advice)
        std::cerr << " (" << advice << ")";
    std::cerr << '\n';
    return code;
}

} // namespace

int main(int argc, char **argv)
{
    CLI::App app{"Shorten and resolve links stored by the url_shortener PostgreSQL extension."};
    app.footer(exit_code_help);
    app.require_subcommand(1);
    app.fallthrough();

    std::string dsn;
    app.add_option("--dsn", dsn,
                   "libpq connection string or URI; default: PGHOST, PGDATABASE, ... from the "
                   "environment");
    ClientOptions client_options;
    int connect_timeout = static_cast<int>(client_options.connect_timeout.count());
    app.add_option("--connect-timeout", connect_timeout,
                   "Give up connecting after SECONDS (at least 2; 0 waits as long as the system "
                   "does)")
        ->type_name("SECONDS")
        ->check(CLI::Range(0, max_timeout_seconds))
        ->capture_default_str();
    int statement_timeout = static_cast<int>(client_options.statement_timeout.count() / 1000);
    app.add_option("--statement-timeout", statement_timeout,
                   "The server cancels a statement running longer than SECONDS (0: the "
                   "server's own statement_timeout)")
        ->type_name("SECONDS")
        ->check(CLI::Range(0, max_timeout_seconds))
        ->capture_default_str();

    std::string code;
    std::vector<std::string> urls;
    bool locked = false;
    ShortenOptions shorten_options;
    CLI::App *shorten = app.add_subcommand("shorten", "Print a new short code for each URL");
    shorten->add_option("URL", urls, "absolute http(s) URL")->required();
    shorten->add_flag("--locked", locked,
                      "Serialize code generation with other --locked callers (shorten_url_locked)");
    CLI::Option *alias_option = shorten->add_option(
        "--alias", shorten_options.alias, "Store under this code (A-Z a-z 0-9 _ -, up to 64) instead of a random one");
    shorten->add_flag("--reuse", shorten_options.reuse,
                      "Print the URL's existing reusable link, or make one")
        ->excludes(alias_option);
    shorten->add_option("--expires-in", shorten_options.expires_in_seconds,
                        "The link resolves for this many seconds from now")
        ->check(CLI::PositiveNumber);
    shorten->add_option("--max-clicks", shorten_options.max_clicks,
                        "The link resolves this many times, then no more")
        ->check(CLI::PositiveNumber);
    shorten->footer(exit_code_help);

    std::string edit_url;
    long long expected_version = 0;
    CLI::App *update = app.add_subcommand("update", "Point CODE at URL if nobody changed it since --version");
    update->add_option("CODE", code, "short code")->required();
    update->add_option("URL", edit_url, "the new absolute http(s) URL")->required();
    update->add_option("--version", expected_version, "the version stats printed")->required();
    update->footer(exit_code_help);

    std::vector<CLI::App *> code_commands;
    for (const char *name : {"stats", "disable", "enable", "delete"}) {
        static const std::map<std::string, std::string> help = {
            {"stats", "Print what is known of the link"},
            {"disable", "Make the link resolve to nothing until enabled"},
            {"enable", "Undo disable"},
            {"delete", "Delete the link"}};
        CLI::App *command = app.add_subcommand(name, help.at(name));
        command->add_option("CODE", code, "short code")->required();
        command->footer(exit_code_help);
        code_commands.push_back(command);
    }

    int batch_size = 1000;
    CLI::App *purge = app.add_subcommand("purge", "Delete expired and used-up links; print how many");
    purge->add_option("--batch-size", batch_size, "links deleted per statement")->check(CLI::PositiveNumber);
    purge->footer(exit_code_help);

    CLI::App *resolve = app.add_subcommand("resolve", "Print the URL a code stands for and count a click");
    resolve->add_option("CODE", code, "short code")->required();
    resolve->footer(exit_code_help);

    std::string path;
    CLI::App *import = app.add_subcommand(
        "import", "Shorten one URL per line of FILE (- for stdin), all or none; print CODE<TAB>URL");
    import->add_option("FILE", path, "file of URLs, or - for standard input")->required();
    import->footer(exit_code_help);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        /* --help is a "parse error" that succeeds; CLI11 prints the help. */
        if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success))
            return app.exit(e);
        std::cerr << "url-shortener: " << e.what() << " (see url-shortener --help)\n";
        return exit_usage;
    }

    client_options.connect_timeout = std::chrono::seconds(connect_timeout);
    client_options.statement_timeout = std::chrono::seconds(statement_timeout);

    try {
        std::optional<Client> connected;
        try {
            connected.emplace(dsn, client_options);
        } catch (const InvalidArgument &e) {
            /* A --dsn libpq cannot parse is a usage error, not a server failure. */
            std::cerr << "url-shortener: --dsn: " << e.what() << " (see url-shortener --help)\n";
            return exit_usage;
        }
        Client &client = *connected;
        if (shorten->parsed())
            return shorten_command(client, urls, locked, shorten_options);
        if (resolve->parsed())
            return resolve_command(client, code);
        if (update->parsed())
            return update_command(client, code, edit_url, expected_version);
        for (CLI::App *command : code_commands)
            if (command->parsed())
                return code_command(client, command->get_name(), code);
        if (purge->parsed())
            return purge_command(client, batch_size);
        return import_command(client, path);
    } catch (const AliasTaken &e) {
        return report(e, exit_alias_taken, nullptr);
    } catch (const VersionConflict &e) {
        return report(e, exit_version_conflict, nullptr);   /* the server's hint says what to do */
    } catch (const InvalidInput &e) {
        return report(e, exit_invalid_input, nullptr);
    } catch (const CodeSpaceExhausted &e) {
        return report(e, exit_code_space_exhausted, nullptr);  /* the server's hint says what to do */
    } catch (const LockTimeout &e) {
        return report(e, exit_server_failure, "another shorten --locked holds the lock; try again");
    } catch (const OutcomeUnknown &e) {
        return report(e, exit_outcome_unknown, "check whether the link exists before running again");
    } catch (const ConnectionLost &e) {
        return report(e, exit_server_failure, "check --dsn or PGHOST, PGPORT and PGDATABASE");
    } catch (const Error &e) {
        std::cerr << "url-shortener: ";
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
}
