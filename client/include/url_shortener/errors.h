/*
 * url_shortener/errors.h
 *    The exceptions url_shortener::Client throws.
 *
 *    Every type is chosen from the server's SQLSTATE (or, for connection
 *    trouble, from what the client knows about whether the statement was
 *    sent), never from message text, so callers can branch on the type.
 *    All of them derive from url_shortener::Error, a std::runtime_error.
 */
#ifndef URL_SHORTENER_ERRORS_H
#define URL_SHORTENER_ERRORS_H

#include <stdexcept>
#include <string>

namespace url_shortener {

/*
 * Base of every error the client reports.  what() is one line meant for a
 * person; sqlstate() is the five-character SQLSTATE when the server (or the
 * client on the server's behalf) assigned one, else empty; server_message()
 * is the server's full report (message, detail, hint) when there was one.
 */
class Error : public std::runtime_error {
public:
    explicit Error(const std::string &what, std::string sqlstate = {},
                   std::string server_message = {});

    const std::string &sqlstate() const noexcept { return sqlstate_; }
    const std::string &server_message() const noexcept { return server_message_; }

private:
    std::string sqlstate_;
    std::string server_message_;
};

/*
 * The server refused the input (SQLSTATE class 22): a URL that is not an
 * absolute http(s) URL, has control characters, user information, no host,
 * or is too long (22001), or is NULL (22004).  A URL holding a NUL byte is
 * refused by the client before sending, with SQLSTATE 22021, because the
 * protocol cannot carry it.  Nothing was stored.
 */
class InvalidUrl : public Error {
public:
    using Error::Error;
};

/*
 * SQLSTATE US001: url_shortener.max_attempts random codes in a row were
 * taken.  Nothing was stored.  Retrying rarely helps; a longer
 * url_shortener.code_length or a larger url_shortener.alphabet does.
 */
class CodeSpaceExhausted : public Error {
public:
    using Error::Error;
};

/*
 * SQLSTATE 55P03: shorten_locked waited longer than the session's
 * lock_timeout for the generation lock.  Nothing was stored; trying again
 * later is safe.
 */
class LockTimeout : public Error {
public:
    using Error::Error;
};

/*
 * The client could not reach the server, or lost the connection at a point
 * where it knows nothing was committed and its one reconnect was spent or
 * failed.  Nothing was stored by the failed call; trying again is safe.
 */
class ConnectionLost : public Error {
public:
    using Error::Error;
};

/*
 * The connection broke after the statement (or COMMIT) was sent, so the
 * server may or may not have carried it out: a link may exist that the
 * caller never learned the code of, or a click may have been counted.  The
 * client never retries this; the caller decides.  The next call on the same
 * Client reconnects.
 */
class OutcomeUnknown : public Error {
public:
    using Error::Error;
};

/*
 * SQLSTATE US002: the alias asked for is already the code of a link.
 * Nothing was stored; the call never falls back to another code.
 */
class AliasTaken : public Error {
public:
    using Error::Error;
};

/*
 * SQLSTATE US003: update's expected version is no longer the link's: someone
 * else changed it since it was read.  Nothing was changed; read the link
 * again (stats) and decide.
 */
class VersionConflict : public Error {
public:
    using Error::Error;
};

/*
 * Any other server error, including a serialization failure (40001) or
 * deadlock (40P01) that outlasted the retry policy, a missing extension
 * (42704), a call the installed extension version lacks (0A000) or a
 * missing privilege (42501).  sqlstate() says which.
 */
class ServerError : public Error {
public:
    using Error::Error;
};

} // namespace url_shortener

#endif
