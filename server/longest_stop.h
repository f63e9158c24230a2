/*
 * longest_stop.h
 *    How long a graceful stop (SIGTERM) may take at most with the server's
 *    options: --stop-timeout-ms, after which every database call still in
 *    flight is ended and every connection still reading a request or
 *    writing an answer is closed, and then what remains bounded: a call
 *    interrupted between two of its calls is interrupted again
 *    (repeat_interrupt_interval), a call ended while it was connecting
 *    answers once the connect ends (the connect timeout), its answer is
 *    written and lingered after (HttpServer::after_drain); a redirect
 *    connection being opened finishes its open (twice the connect
 *    timeout).  The server prints it
 *    at start, so that a service manager's stop timeout can be set above
 *    it (systemd's TimeoutStopSec= in
 *    debian/url-shortener-tools.url-shortener-server.service, which
 *    test/server/run checks against it).
 *
 *    With connect_timeout=0 an open has no bound, and so neither has
 *    a stop that comes while one is under way.
 */
#ifndef URL_SHORTENER_SERVER_LONGEST_STOP_H
#define URL_SHORTENER_SERVER_LONGEST_STOP_H

#include <chrono>
#include <optional>

#include "server_options.h"

namespace url_shortener::server {

/* The longest stop, in whole seconds (rounded up), for options and a new
 * connection's connect_timeout; none if connect_timeout is 0 (no limit). */
std::optional<std::chrono::seconds> longest_stop(const ServerOptions &options,
                                                 std::chrono::seconds connect_timeout);

} // namespace url_shortener::server

#endif
