/*
 * exit_codes.h
 *    What url-shortener's exit status means.  Scripts branch on these, so
 *    they never change meaning.
 *
 *      0  success
 *      1  resolve, update, stats, disable, enable, delete: no link has that code
 *         (resolve: or it is disabled, used up or expired)
 *      2  usage error: unknown command or option, missing argument
 *      3  invalid input: a refused URL or option, or input that cannot be read
 *      4  code space exhausted: the error's hint says what to do (a link
 *         with an idempotency key, as every new link the CLI makes, takes
 *         the shape stored in reuse_key, not url_shortener.code_length's)
 *      5  connection or server failure (including lock timeout); nothing
 *         was stored by the failing URL.  shorten with several URLs, one
 *         at a time (--locked, or with an option): the ones before it were
 *         stored and printed, and stderr says how many; run only the rest
 *         again.  Otherwise running again is safe
 *      6  outcome unknown: the connection broke after a request was sent;
 *         it may or may not have been stored, so check before running again;
 *         or the command succeeded but its output could not be written
 *         (also --help and --version), or the CLI failed unexpectedly (out
 *         of memory: stderr says whether anything had been sent yet)
 *         (import: running the same import again on the same input is safe:
 *         its idempotency keys return the same codes and store nothing twice;
 *         shorten of one link: stderr names the --idempotency-key that,
 *         sent again with the same URL and options, settles it)
 *      7  shorten --alias: the alias is already the code of a link
 *      8  update: someone changed the link since --version; run stats again
 *      9  import, or shorten --idempotency-key: an idempotency key was used
 *         before for another URL or options (the same --idempotency-prefix,
 *         or the same input, with a line changed); nothing was stored
 */
#ifndef URL_SHORTENER_CLI_EXIT_CODES_H
#define URL_SHORTENER_CLI_EXIT_CODES_H

namespace url_shortener::cli {

enum ExitCode : int {
    exit_success = 0,
    exit_not_found = 1,
    exit_usage = 2,
    exit_invalid_input = 3,
    exit_code_space_exhausted = 4,
    exit_server_failure = 5,
    exit_outcome_unknown = 6,
    exit_alias_taken = 7,
    exit_version_conflict = 8,
    exit_idempotency_conflict = 9,
};

/* The table above, for --help. */
inline constexpr const char *exit_code_help =
    "Exit status:\n"
    "  0  success\n"
    "  1  no link has that code (resolve, update, stats, disable, enable, delete), or\n"
    "     (resolve) it is disabled, used up or expired\n"
    "  2  usage error\n"
    "  3  invalid input: a refused URL or option, or input that cannot be read\n"
    "  4  code space exhausted: see the error's hint\n"
    "  5  connection or server failure (including lock timeout); nothing stored by the\n"
    "     failing URL (shorten one at a time: the ones printed before it were stored)\n"
    "  6  outcome unknown: the connection broke after sending, the output could not be\n"
    "     written, or the CLI failed unexpectedly (out of memory); check before running again\n"
    "     (import: running the same import again is safe; shorten of one link: stderr\n"
    "     names the --idempotency-key that settles it)\n"
    "  7  alias taken: shorten --alias names the code of an existing link\n"
    "  8  version conflict: the link changed since update --version; run stats again\n"
    "  9  idempotency conflict: the key (import's for a line, or shorten's\n"
    "     --idempotency-key) was used before for another URL or options\n";

} // namespace url_shortener::cli

#endif
