/*
 * longest_stop.h
 *    How long a graceful stop (SIGTERM) may take at most with the server's
 *    options, against a database that stopped answering (a stopped
 *    backend, a network that drops everything): the deadlines of a request
 *    in flight added up.  The server prints it at start, so that a service
 *    manager's stop timeout can be set above it (systemd's TimeoutStopSec=
 *    in debian/url-shortener-tools.url-shortener-server.service, which
 *    test/server/run checks against it).
 *
 *    Not counted: a database that keeps answering slowly, refusing with
 *    40001 or 40P01 (a retry gets a deadline of its own), and opening a
 *    redirect connection with connect_timeout=0 (not bounded).
 */
#ifndef URL_SHORTENER_SERVER_LONGEST_STOP_H
#define URL_SHORTENER_SERVER_LONGEST_STOP_H

#include <chrono>
#include <cstddef>

#include "server_options.h"

namespace url_shortener::server {

/* The longest stop, in whole seconds (rounded up), for options, a new
 * connection's connect_timeout and shorten_many's batch_chunk_size. */
std::chrono::seconds longest_stop(const ServerOptions &options, std::chrono::seconds connect_timeout,
                                  std::size_t batch_chunk_size);

} // namespace url_shortener::server

#endif
