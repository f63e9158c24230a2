/*
 * descriptor_budget.h
 *    How many client connections the server keeps at once.  Each takes a
 *    descriptor, and each database connection two (libpq's socket and the
 *    client library's duplicate of it, which it watches or interrupts
 *    through), which the server may have to open (again) at any time: a
 *    redirect's first, or one to replace a lost one.  A connection being
 *    opened holds no more than that (its socket, and while connecting a
 *    file or socket of libpq's or the resolver's in place of the
 *    duplicate), and the pools never hold more than their sizes, connections
 *    being opened included.  If idle clients held every descriptor, that open
 *    would fail (EMFILE, reported by libpq as a failed connection) and
 *    every request would be 503.  So the clients get what is left after
 *    the database connections and a margin for the server's own (standard
 *    streams, epoll, timers, the listeners, libpq's and the resolver's
 *    files while connecting).
 */
#ifndef URL_SHORTENER_SERVER_DESCRIPTOR_BUDGET_H
#define URL_SHORTENER_SERVER_DESCRIPTOR_BUDGET_H

#include <cstddef>

namespace url_shortener::server {

struct DescriptorBudget {
    std::size_t descriptors;   /* open files allowed (RLIMIT_NOFILE) */
    std::size_t kept;          /* for the database connections and the server's own */
    std::size_t clients;       /* the rest, at least 1 */
};

/* Raises the soft limit on open files to the hard one (as a server
 * expecting many connections does), then divides it for database_connections. */
DescriptorBudget client_connection_limit(std::size_t database_connections);

} // namespace url_shortener::server

#endif
