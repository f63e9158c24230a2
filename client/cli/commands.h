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

/* Prints one code per URL, in order; each URL is stored as it is printed. */
int shorten_command(Client &client, const std::vector<std::string> &urls, bool locked);

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
