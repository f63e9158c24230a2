/*
 * router.h
 *    Which route a request is, whether it may use it (API keys, method,
 *    content type, If-Match, Idempotency-Key), and where it runs: health and metrics answer
 *    at once on the I/O thread; a redirect (GET /{code}) goes to the
 *    redirect connections, also on the I/O thread; everything else that
 *    needs the database goes to the bounded worker pool, which leases a
 *    connection.  Either answers 503 once the request has waited
 *    --pool-wait in all.  Every answer is
 *    counted in Metrics.
 */
#ifndef URL_SHORTENER_SERVER_ROUTER_H
#define URL_SHORTENER_SERVER_ROUTER_H

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/thread_pool.hpp>

#include "api_keys.h"
#include "call_deadline.h"
#include "connection_pool.h"
#include "http_types.h"
#include "link_routes.h"
#include "metrics.h"
#include "redirect_connections.h"

namespace url_shortener::server {

struct Match;   /* a request's route, router.cpp */

class Router {
public:
    Router(LinkSettings settings, std::chrono::milliseconds pool_wait, ConnectionPool &pool,
           RedirectConnections &redirects, boost::asio::thread_pool &workers,
           CallDeadlines &deadlines, Metrics &metrics, ApiKeys keys);

    /* Answers request through respond, exactly once, on this or a worker thread. */
    void handle(Request request, Respond respond);

    /*
     * For a request whose header is in and whose body is not: if the
     * header alone decides it is refused (no such route 404, the API
     * without an accepted key 401/403, a method the route does not answer
     * 405), answers through respond at once, with "Connection: close", and
     * returns true; the body is then never read, so nobody without a key
     * makes the server hold a body.  false: read the body, then handle().
     */
    bool screen(const Request &header, Respond respond);

    /* Whether the route of a request whose header is in reads its body:
     * creating links (POST /api/v1/links, /batch) and editing one (PATCH);
     * every other request may carry only bodyless_max_body_bytes, which
     * the HTTP layer enforces. */
    bool takes_body(const Request &header) const;

    /* Counts an answer the HTTP layer made itself, before any route (a
     * request over a limit, malformed HTTP), under route "http". */
    void count_refusal(unsigned status) { metrics_.count("http", status); }

    /* The API's keys from now on (SIGHUP reads the key file again): a
     * request already past its check is not checked again. */
    void replace_keys(ApiKeys keys);

    /* For a graceful stop (on the I/O thread): the redirect connections close
     * as they become idle; no database call, and no wait for a connection,
     * lasts past drain_deadline (each then answered as at its own deadline). */
    void stop(std::chrono::steady_clock::time_point drain_deadline)
    {
        redirects_.stop(drain_deadline);
        deadlines_.stop(drain_deadline);
        pool_.stop(drain_deadline);
    }

private:
    using Work = std::function<Response(Client &)>;
    using Finish = std::function<void(Response)>;

    /* What an answer to request goes through: HTTP version and keep-alive
     * set, HEAD's body dropped, counted in Metrics under the route. */
    Finish finisher(const Request &request, const Match &match, bool keep_alive,
                    Respond respond);

    /* Answers request (whose route is already matched) or hands it to a worker. */
    void dispatch(const Request &request, const Match &match, const Finish &finish);

    /* Throws a 401/403 problem unless request carries an accepted API key. */
    void authorize(const Request &request) const;

    /*
     * Runs work with a leased connection on a worker thread, then finish.
     * work sends at most `statements` statements when nothing is retried
     * (a library call is one, and one more when it first checks the
     * extension's version): its deadline (CallDeadlines) is that many
     * statement timeouts and a margin.  readiness: any failure is 503
     * (not_ready), for /readyz; and work, which then changes nothing, is
     * tried once more, on a new connection, when it failed because a
     * connection the pool lent open was found lost (ConnectionLost,
     * OutcomeUnknown: a backend terminated while idle in the pool), unless
     * its deadline or a stop's ended it.
     */
    void run_on_worker(Work work, Finish finish, unsigned version, bool keep_alive,
                       std::size_t statements = call_statements, bool readiness = false);

    const LinkSettings settings_;
    const std::chrono::milliseconds pool_wait_;
    ConnectionPool &pool_;
    RedirectConnections &redirects_;
    boost::asio::thread_pool &workers_;
    CallDeadlines &deadlines_;
    Metrics &metrics_;
    /* Replaced whole, never changed in place: a check holds the set it
     * started with. */
    mutable std::mutex keys_mutex_;
    std::shared_ptr<const ApiKeys> keys_;
};

} // namespace url_shortener::server

#endif
