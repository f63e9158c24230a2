/*
 * resolve_connection.h
 *    A database connection that follows short links without blocking, for
 *    event loops (url-shortener-server's redirects).
 *
 *    Client::resolve blocks its thread until the answer is in, so a server
 *    built on it hands every redirect to a thread and back: on two cores
 *    that hand-off was most of a redirect's cost (commit 974416b).
 *    A ResolveConnection sends resolve_url and returns; the caller's event
 *    loop waits for socket() to become readable and calls read(), which
 *    never blocks.  One batch in flight at a time: one code, or several
 *    resolved in one transaction (libpq's pipeline mode: the statements,
 *    then one Sync), so that redirects arriving together share one commit
 *    and one exchange with the server.
 *
 *    Not thread-safe: one thread (the event loop's) uses it at a time.
 *    Nothing is retried here; the caller decides (see read()).
 */
#ifndef URL_SHORTENER_RESOLVE_CONNECTION_H
#define URL_SHORTENER_RESOLVE_CONNECTION_H

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "url_shortener/client.h"
#include "url_shortener/errors.h"
#include "url_shortener/export.h"

namespace url_shortener {

class URL_SHORTENER_CLIENT_EXPORT ResolveConnection {
public:
    /*
     * Connects, finds the extension's schema and prepares resolve_url, as
     * Client::Client does, and blocks while it does (open it off the event
     * loop).  Uses options.connect_timeout and options.statement_timeout.
     * Throws InvalidArgument (a bad connection string), ConnectionLost
     * (SQLSTATE 08001: the server could not be reached, or did not answer
     * the setup statements within the connect timeout in effect, see
     * connect_timeout_in_effect()) or ServerError (42704: the extension is
     * not installed).
     */
    explicit ResolveConnection(const std::string &connection_string,
                               const ClientOptions &options = {});
    ~ResolveConnection();
    ResolveConnection(const ResolveConnection &) = delete;
    ResolveConnection &operator=(const ResolveConnection &) = delete;

    /* The descriptor to wait on (a duplicate of libpq's socket); it stays
     * open and the same until the destructor, also after a lost connection. */
    int socket() const;

    /* Whether a statement is in flight (sent, its answer not yet read). */
    bool busy() const { return busy_; }

    /* Whether the connection still works, as far as the last exchange showed. */
    bool open() const;

    /*
     * Sends resolve_url for every code without waiting for the answers, as
     * one transaction: each statement sees the clicks of the ones before it
     * (the same code twice counts two clicks), and either all the clicks are
     * committed or none.  A code no link can have (a NUL byte, a byte above
     * 0x7f: what Client::resolve answers std::nullopt for without asking)
     * is not sent, and its answer is std::nullopt; the batch's other codes
     * are resolved as usual.  When it returns, the batch is on its way, or
     * partly: then wants_write() is true.  Throws url_shortener::Error (no
     * SQLSTATE; nothing sent, a batch in flight left alone) if busy() or
     * codes is empty, and ConnectionLost (08006) if the connection is found
     * broken before the batch could be committed (nothing was done); open()
     * is then false.
     */
    void send(const std::vector<std::string> &codes);

    /* A batch of one: resolve_url(code) in its own transaction. */
    void send(std::string_view code);

    /* Whether part of the statement is still to be written: wait until
     * socket() is writable, then call flush(). */
    bool wants_write() const { return wants_write_; }

    /* Writes what is left of the statement, as far as the socket takes it.
     * A broken connection shows up at the next read(). */
    void flush();

    /*
     * Reads what the server sent, without blocking; call it when socket()
     * is readable.  Returns true when the batch in flight was committed:
     * then urls holds one answer per code, in the order sent (std::nullopt
     * when the code leads nowhere: unknown, disabled, expired or used up).
     * Returns false when there is nothing more to do yet (wait for
     * readability again), also on an idle connection that only got a
     * notice.  Throws:
     *  - what Client::resolve throws for the server's refusal of a statement
     *    (ServerError, InvalidArgument, ...), the first refusal of the
     *    batch: the whole batch was rolled back, no click of it counted, and
     *    the connection stays usable;
     *  - OutcomeUnknown (08007) when the connection was lost with the batch
     *    sent: its clicks may have been counted (all of them or none);
     *  - ConnectionLost (08006) when an idle connection was closed by the
     *    server (a terminated backend, a restart).
     * After either loss open() is false: destroy it and open a new one.
     */
    bool read(std::vector<std::optional<std::string>> &urls);

    /* read() for a batch of one. */
    bool read(std::optional<std::string> &url);

private:
    struct Handle;
    std::unique_ptr<Handle> handle_;
    bool busy_ = false;
    bool wants_write_ = false;
};

} // namespace url_shortener

#endif
