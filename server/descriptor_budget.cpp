/*
 * descriptor_budget.cpp
 *    The client connections' share of the open files (see descriptor_budget.h).
 */
#include "descriptor_budget.h"

#include <limits>

#include <sys/resource.h>

namespace url_shortener::server {

namespace {
/* The server's own descriptors, with room to spare: see the header. */
constexpr std::size_t own_descriptors = 32;
/* A database connection's: libpq's socket, and the duplicate of it that
 * the client library watches (a redirect connection's for the I/O
 * thread's reactor, ResolveConnection::socket; an API connection's for
 * Client::interrupt, ServerConnection::watch_socket). */
constexpr std::size_t per_database_connection = 2;
} // namespace

DescriptorBudget client_connection_limit(std::size_t database_connections)
{
    rlimit limit{RLIM_INFINITY, RLIM_INFINITY};   /* if it cannot be read: no limit known */
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        limit = rlimit{RLIM_INFINITY, RLIM_INFINITY};
    else if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
    }
    const std::size_t most = std::numeric_limits<std::size_t>::max() / 2;
    const std::size_t descriptors =
        limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > most ? most
                                                                 : static_cast<std::size_t>(limit.rlim_cur);
    const std::size_t kept = per_database_connection * database_connections + own_descriptors;
    return DescriptorBudget{descriptors, kept, descriptors > kept + 1 ? descriptors - kept : 1};
}

} // namespace url_shortener::server
