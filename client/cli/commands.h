/*
 * commands.h
 *    The url-shortener subcommands, each returning an exit code (see
 *    exit_codes.h).  Results go to stdout; errors are thrown as
 *    url_shortener::Error and reported by main.
 */
#ifndef URL_SHORTENER_CLI_COMMANDS_H
#define URL_SHORTENER_CLI_COMMANDS_H

#include <string>
#include <vector>

#include "url_shortener/client.h"

namespace url_shortener::cli {

/* shorten's options; all unset means a plain random code. */
struct ShortenOptions {
    std::string alias;              /* empty: none */
    bool reuse = false;
    long long expires_in_seconds = 0;   /* 0: no expiry */
    long long max_clicks = 0;           /* 0: no limit */
};

/* Prints one code per URL, in order; each URL is stored as it is printed. */
int shorten_command(Client &client, const std::vector<std::string> &urls, bool locked,
                    const ShortenOptions &options);

/* Prints the link's new version, or returns exit_not_found. */
int update_command(Client &client, const std::string &code, const std::string &url,
                   long long expected_version);

/* stats, disable, enable or delete (name) of code; exit_not_found if there is no such link. */
int code_command(Client &client, const std::string &name, const std::string &code);

/* Prints how many links were purged. */
int purge_command(Client &client, int batch_size);

/* Prints the URL, or returns exit_not_found. */
int resolve_command(Client &client, const std::string &code);

/*
 * Reads one URL per line from path ("-" for stdin), skipping blank lines,
 * shortens them all in one transaction and prints "code<TAB>url" lines.
 * Shows progress on stderr only when stderr is a terminal.
 */
int import_command(Client &client, const std::string &path);

} // namespace url_shortener::cli

#endif
