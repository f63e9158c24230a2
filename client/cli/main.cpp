/*
 * main.cpp
 *    url-shortener: the command line for the url_shortener extension.
 *
 *      url-shortener [--dsn DSN] shorten [--locked] URL...
 *      url-shortener [--dsn DSN] resolve CODE
 *      url-shortener [--dsn DSN] import FILE|-
 *
 *    Without --dsn the connection comes from libpq's environment (PGHOST,
 *    PGPORT, PGDATABASE, PGUSER, PGOPTIONS, ...).  Exit codes: exit_codes.h.
 */
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "exit_codes.h"
#include "url_shortener/client.h"

using namespace url_shortener;
using namespace url_shortener::cli;

namespace {

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

    std::vector<std::string> urls;
    bool locked = false;
    CLI::App *shorten = app.add_subcommand("shorten", "Print a new short code for each URL");
    shorten->add_option("URL", urls, "absolute http(s) URL")->required();
    shorten->add_flag("--locked", locked,
                      "Serialize code generation with other --locked callers (shorten_url_locked)");
    shorten->footer(exit_code_help);

    std::string code;
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

    try {
        Client client(dsn);
        if (shorten->parsed())
            return shorten_command(client, urls, locked);
        if (resolve->parsed())
            return resolve_command(client, code);
        return import_command(client, path);
    } catch (const InvalidUrl &e) {
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
        else if (e.sqlstate() == "42501")
            std::cerr << " (ask an administrator to GRANT EXECUTE on the url_shortener functions)";
        std::cerr << '\n';
        return exit_server_failure;
    }
}
