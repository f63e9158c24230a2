/*
 * commands.h
 *    The url-shortener subcommands, each returning an exit code (see
 *    exit_codes.h).  Results go to stdout through Output (text or --json);
 *    errors are thrown as url_shortener::Error and reported by main, or
 *    reported here where the command knows more (which URL, which line).
 */
#ifndef URL_SHORTENER_CLI_COMMANDS_H
#define URL_SHORTENER_CLI_COMMANDS_H

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <chrono>

#include "output.h"
#include "url_lines.h"
#include "url_shortener/client.h"

namespace url_shortener::cli {

/* shorten's options; all unset means a plain random code. */
struct ShortenOptions {
    std::string alias;                          /* empty: none */
    bool reuse = false;
    std::optional<long long> expires_in_seconds;
    std::optional<std::chrono::system_clock::time_point> expires_at;   /* --expires-at */
    std::optional<long long> max_clicks;
    std::string idempotency_key;                /* empty: the client draws one */
};

/*
 * shorten's input, before any connection is made: "-" alone is replaced by
 * the URLs of stdin, one per line.  Returns an exit status if it cannot be
 * used (exit_invalid_input: stdin could not be read; exit_usage: it held
 * no URL, or several with --alias or --idempotency-key), having said why
 * on stderr.
 */
std::optional<int> read_shorten_input(std::vector<std::string> &urls, const ShortenOptions &options);

/*
 * Prints a code per URL (as read_shorten_input left them), in order.
 * Without options and --locked all URLs are stored in one transaction
 * (shorten_many): a refused one stores none.  Otherwise each is stored as
 * it is printed, and a refusal says which were stored.
 */
int shorten_command(Client &client, Output &out, const std::vector<std::string> &urls,
                    bool locked, const ShortenOptions &options);

/* Prints the link's new version, or returns exit_not_found. */
int update_command(Client &client, Output &out, const std::string &code, const std::string &url,
                   long long expected_version);

/* stats, disable, enable or delete (name) of code; exit_not_found if there is no such link. */
int code_command(Client &client, Output &out, const std::string &name, const std::string &code);

/* Prints how many links were purged. */
int purge_command(Client &client, Output &out, int batch_size);

/* Prints the URL, or says why there is none and returns exit_not_found. */
int resolve_command(Client &client, Output &out, const std::string &code);

/* import's options. */
struct ImportOptions {
    /* Keys are PREFIX:LINE instead of SHA256-OF-INPUT:LINE. */
    std::optional<std::string> idempotency_prefix;
};

/*
 * import's input: one URL per line from path ("-" for stdin; whitespace
 * trimmed, blank lines and # comments skipped), read whole before the
 * command connects, so that input that cannot be read is exit_invalid_input
 * whether or not the database can be reached.  std::nullopt, said on
 * stderr, if it cannot be read.
 */
std::optional<UrlLines> read_import_input(const std::string &path);

/*
 * Shortens the URLs read from path (read_import_input) all in one
 * transaction, batch_size URLs per statement, and prints "code<TAB>url"
 * lines once it committed.  Against extension 1.3 each line goes with an
 * idempotency key, the input's SHA-256 (or --idempotency-prefix) and the
 * line number, so running the same import again after a lost connection
 * prints the same codes and stores nothing twice.  A refused URL is named
 * by its line number.  Shows progress on stderr only when stderr is a
 * terminal.
 */
int import_command(Client &client, Output &out, const std::string &path, UrlLines lines,
                   const ImportOptions &options);

} // namespace url_shortener::cli

#endif
