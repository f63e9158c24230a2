/*
 * url_shortener/errors.h
 *    The exceptions url_shortener::Client throws.
 *
 *    Every type is chosen from the server's SQLSTATE (or, for connection
 *    trouble, from what the client knows about whether the statement was
 *    sent), from the client's own checks of the arguments before anything is
 *    sent, and never from message text alone, so callers can branch on the
 *    type.  All of them derive from url_shortener::Error, a
 *    std::runtime_error.
 */
#ifndef URL_SHORTENER_ERRORS_H
#define URL_SHORTENER_ERRORS_H

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "url_shortener/export.h"

namespace url_shortener {

/*
 * A server report split into its fields, as libpq labels them (severity
 * prefix, ERROR, FATAL, PANIC or WARNING, removed).  Fields the report
 * lacked are empty.
 */
struct URL_SHORTENER_CLIENT_EXPORT ServerReport {
    std::string message;   /* the primary message */
    std::string detail;    /* DETAIL: whole sentences */
    std::string hint;      /* HINT: whole sentences */
    std::string context;   /* CONTEXT: where in the server it happened */

    /* Splits libpq's text of an error ("ERROR:  ...\nDETAIL:  ...\n..."). */
    static ServerReport parse(const std::string &server_text);
};

/*
 * The DETAIL and HINT of a report the client makes itself, without the
 * server (Error's constructor that takes it).  There is no default
 * constructor, so that Error(what, sqlstate, {}) stays the constructor
 * taking a server message: a report of the client's says something.
 */
struct URL_SHORTENER_CLIENT_EXPORT ClientReport {
    ClientReport(std::string detail_text, std::string hint_text = {})
        : detail(std::move(detail_text)), hint(std::move(hint_text))
    {
    }

    std::string detail;   /* whole sentences, as a server's DETAIL */
    std::string hint;     /* whole sentences, as a server's HINT */
};

/*
 * Base of every error the client reports.  what() is one line meant for a
 * person; sqlstate() is the five-character SQLSTATE the server assigned, or
 * the one the client assigned on the server's behalf (class 08 for
 * connection trouble, 22xxx for arguments refused before sending), empty
 * only when there is none; server_message() is the server's full report
 * (message, detail, hint, context) when there was one, and detail() and
 * hint() its DETAIL and HINT alone (empty when absent).  For a lost
 * connection it is libpq's message, which holds the server's last report
 * (a FATAL, for a terminated backend), or empty where the client cannot
 * read it (InTransaction, on the caller's connection); never libpqxx's
 * own text.  A report the client makes itself (a refusal before sending,
 * an extension it found missing or too old) has no server_message(): the
 * server sent nothing, and text it never sent must not pass for its
 * report; its detail() and hint() are the client's (ClientReport).
 */
class URL_SHORTENER_CLIENT_EXPORT Error : public std::runtime_error {
public:
    explicit Error(const std::string &what, std::string sqlstate = {},
                   std::string server_message = {});
    /*
     * A report of the client's own: server_message() empty, detail() and
     * hint() from report, primary_message() what.  The derived types
     * inherit it, as they do the constructor above.
     */
    Error(const std::string &what, std::string sqlstate, ClientReport report);

    const std::string &sqlstate() const noexcept { return sqlstate_; }
    const std::string &server_message() const noexcept { return server_message_; }
    const std::string &detail() const noexcept { return report_.detail; }
    const std::string &hint() const noexcept { return report_.hint; }
    /*
     * The primary message alone, without detail and hint: the server's, or,
     * when the server sent none (the client refused by itself), what()
     * without the position a batch element's refusal starts with ("the URL
     * contains a NUL byte" for what() "URL 3 of 10 contains a NUL byte").
     */
    const std::string &primary_message() const noexcept { return report_.message; }

protected:
    /* A refusal of the client's own, primary message given apart from what(). */
    Error(const std::string &what, std::string sqlstate, std::string server_message,
          std::string primary_message);

private:
    std::string sqlstate_;
    std::string server_message_;
    ServerReport report_;
};

/*
 * Input the client or the server refused before anything was stored: the
 * common base of InvalidUrl and InvalidArgument, for callers that treat both
 * alike (exit 3, HTTP 400).
 */
class URL_SHORTENER_CLIENT_EXPORT InvalidInput : public Error {
public:
    using Error::Error;
};

/*
 * A URL was refused (SQLSTATE class 22): not an absolute http(s) URL, has
 * control characters, user information, no host, or is too long (22001),
 * or is NULL (22004).  A URL holding a NUL byte is refused by the client
 * before sending, with SQLSTATE 22021, because the protocol cannot carry
 * it; so is a URL of shorten_many that is not UTF-8 on a UTF8 connection
 * (the server's 22021 would not say which).  Nothing was stored.  In shorten_many, batch_index() is the
 * 0-based position of the refused URL in the caller's vector.
 */
class URL_SHORTENER_CLIENT_EXPORT InvalidUrl : public InvalidInput {
public:
    using InvalidInput::InvalidInput;
    InvalidUrl(const std::string &what, std::string sqlstate, std::string server_message,
               std::size_t batch_index);
    /* The client's own refusal of a batch element: reason is primary_message(). */
    InvalidUrl(const std::string &what, std::string sqlstate, std::size_t batch_index,
               std::string reason);

    std::optional<std::size_t> batch_index() const noexcept { return batch_index_; }

private:
    std::optional<std::size_t> batch_index_;
};

/*
 * An option or argument other than the URL was refused (SQLSTATE 22023
 * unless said otherwise): an alias that is empty, too long, has a character
 * outside A-Z a-z 0-9 _ - or is a reserved word; max_clicks below 1;
 * expires_at not in the future; reuse combined with another option;
 * purge's batch_size below 1; a connection string libpq cannot parse or
 * holding a NUL byte; a batch_chunk_size outside 1 to 1,000,000; an
 * idempotency key that is not UTF-8 on a UTF8 connection (22021).
 * The client checks what it can before sending anything; the rest (a
 * reserved alias, an expiry not in the future by the database's clock)
 * the server refuses.  Nothing was stored.
 */
class URL_SHORTENER_CLIENT_EXPORT InvalidArgument : public InvalidInput {
public:
    using InvalidInput::InvalidInput;
};

/*
 * SQLSTATE US001: url_shortener.max_attempts random codes in a row were
 * taken.  Nothing was stored.  Retrying rarely helps; a longer
 * url_shortener.code_length or a larger url_shortener.alphabet does.
 */
class URL_SHORTENER_CLIENT_EXPORT CodeSpaceExhausted : public Error {
public:
    using Error::Error;
};

/*
 * SQLSTATE 55P03: shorten_locked waited longer than the session's
 * lock_timeout for the generation lock.  Nothing was stored; trying again
 * later is safe.
 */
class URL_SHORTENER_CLIENT_EXPORT LockTimeout : public Error {
public:
    using Error::Error;
};

/*
 * The client could not reach the server (SQLSTATE 08001, also when
 * ClientOptions::connect_timeout ran out), or lost the connection at a point
 * where it knows nothing was committed and its one reconnect was spent or
 * failed (08006).  Nothing was stored by the failed call; trying again is
 * safe.
 */
class URL_SHORTENER_CLIENT_EXPORT ConnectionLost : public Error {
public:
    using Error::Error;
};

/*
 * The connection broke after the statement (or COMMIT) was sent, so the
 * server may or may not have carried it out (SQLSTATE 08007,
 * transaction_resolution_unknown; 40003 when the server said so): a link
 * may exist that the caller never learned the code of, or a click may have
 * been counted.  A call that sent idempotency keys (extension 1.3) retries
 * this once by itself and throws it only when that retry could not be
 * made.  idempotency_keys() are then the keys the lost call sent (the
 * caller's, or the ones the client drew for it; one per URL for
 * shorten_many), and they settle it: shorten with the same URL and options
 * and LinkOptions::idempotency_key = idempotency_keys()[0], or shorten_many
 * with the same URLs and shorten_many(urls, idempotency_keys()), returns
 * the code(s) the lost try stored, or stores them now, never a second
 * link.  A new call without them would draw new keys and may store a
 * second link.  Calls that sent no key (an alias, reuse, an extension
 * older than 1.3, resolve and the lifecycle calls) never retry it, and
 * idempotency_keys() is empty: the caller decides.  The next call on the
 * same Client reconnects.
 */
class URL_SHORTENER_CLIENT_EXPORT OutcomeUnknown : public Error {
public:
    using Error::Error;
    /* The outcome of a call that sent idempotency_keys is unknown. */
    OutcomeUnknown(const std::string &what, std::string sqlstate, std::string server_message,
                   std::vector<std::string> idempotency_keys);

    /*
     * The idempotency keys the lost call sent, in the order of its URLs;
     * empty when it sent none.
     */
    const std::vector<std::string> &idempotency_keys() const noexcept;

private:
    /* Shared, so that copying the exception (as throwing may) copies no keys. */
    std::shared_ptr<const std::vector<std::string>> idempotency_keys_;
};

/*
 * SQLSTATE US002: the alias asked for is already the code of a link.
 * Nothing was stored; the call never falls back to another code.
 */
class URL_SHORTENER_CLIENT_EXPORT AliasTaken : public Error {
public:
    using Error::Error;
};

/*
 * SQLSTATE US003: update's expected version is no longer the link's: someone
 * else changed it since it was read.  Nothing was changed; read the link
 * again (stats) and decide.
 */
class URL_SHORTENER_CLIENT_EXPORT VersionConflict : public Error {
public:
    using Error::Error;
};

/*
 * SQLSTATE US004: the idempotency key was already used for a different
 * request (another URL, expires_at or max_clicks), or twice in one
 * shorten_many for different URLs.  Nothing was stored.  detail() does
 * not name the code the key holds (keys are shared by every caller, and
 * may be guessed); in shorten_many, batch_index() is the 0-based
 * position of the refused URL in the caller's vector.
 */
class URL_SHORTENER_CLIENT_EXPORT IdempotencyConflict : public Error {
public:
    using Error::Error;
    IdempotencyConflict(const std::string &what, std::string sqlstate, std::string server_message,
                        std::size_t batch_index);

    std::optional<std::size_t> batch_index() const noexcept { return batch_index_; }

private:
    std::optional<std::size_t> batch_index_;
};

/*
 * Any other server error, including a serialization failure (40001) or
 * deadlock (40P01) that outlasted the retry policy, a statement cancelled by
 * ClientOptions::statement_timeout (57014), a missing extension (42704), a
 * call the installed extension version lacks (0A000) or a missing privilege
 * (42501).  sqlstate() says which.
 */
class URL_SHORTENER_CLIENT_EXPORT ServerError : public Error {
public:
    using Error::Error;
};

} // namespace url_shortener

#endif
