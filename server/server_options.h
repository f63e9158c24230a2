/*
 * server_options.h
 *    What the command line decides: where to listen, which database, how
 *    many connections, which keys, and the limits a request must keep.
 */
#ifndef URL_SHORTENER_SERVER_OPTIONS_H
#define URL_SHORTENER_SERVER_OPTIONS_H

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>

namespace url_shortener::server {

struct ServerOptions {
    std::string dsn;                               /* empty: libpq's environment */
    std::string listen_host = "127.0.0.1";
    unsigned short listen_port = 8080;             /* 0: any free port (printed at start) */
    std::string base_url;                          /* empty: http:// + the bound address */
    std::size_t pool_size = 8;                     /* database connections; twice as many worker threads */
    std::size_t redirect_pool_size = 0;            /* the redirects' connections; 0: pool_size */
    std::size_t redirect_batch = 32;               /* most redirects in one transaction */
    std::chrono::milliseconds pool_wait{2000};     /* longest wait for a connection, then 503 */
    std::chrono::milliseconds statement_timeout{30000};   /* set on every database connection */
    std::string api_key_file;                      /* empty: the API is refused */
    unsigned redirect_status = 302;                /* 301, 302, 307 or 308 */
    std::size_t max_body_bytes = 1024 * 1024;      /* larger request bodies get 413 */
    std::chrono::milliseconds idle_timeout{60000}; /* a connection without a request is closed */
    std::chrono::milliseconds stop_timeout{30000}; /* a stop interrupts what is still in flight then */
};

/*
 * The body limit of a request whose route reads no body: GET and HEAD of
 * anything, DELETE of a link, POST .../disable and .../enable.  Not
 * --max-body-bytes: a redirect needs no key, so anyone could otherwise
 * make the server hold that much per connection for a body it ignores.
 * Small, not zero, as some clients send "{}" or the like with a GET.
 */
constexpr std::size_t bodyless_max_body_bytes = 4096;

/*
 * How long the database may leave `statements` statements sent together
 * unanswered before the server gives them up (a stopped backend, a network
 * that drops everything): statement_timeout restarts for each of them, and
 * a margin of a tenth of it, at least 1 s.  Redirect batches and API calls
 * alike.
 */
inline std::chrono::milliseconds unanswered_limit(std::chrono::milliseconds statement_timeout,
                                                  std::size_t statements)
{
    return statement_timeout * static_cast<long long>(std::max<std::size_t>(statements, 1)) +
           std::max<std::chrono::milliseconds>(std::chrono::milliseconds(1000),
                                               statement_timeout / 10);
}

} // namespace url_shortener::server

#endif
