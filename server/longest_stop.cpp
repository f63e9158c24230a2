/*
 * longest_stop.cpp
 *    The stop timeout and what may still follow it (see longest_stop.h).
 */
#include "longest_stop.h"

#include <algorithm>

#include "call_deadline.h"
#include "http_server.h"

namespace url_shortener::server {

std::optional<std::chrono::seconds> longest_stop(const ServerOptions &options,
                                                 std::chrono::seconds connect_timeout)
{
    using std::chrono::milliseconds;
    if (connect_timeout == std::chrono::seconds(0))
        return std::nullopt;   /* an open with no connect timeout may take for ever */
    /* After the drain deadline: a call whose interrupt came between two
     * of its calls is interrupted again (repeat_interrupt_interval); an
     * API call interrupted while its new connection was being opened ends
     * once the open does (Client::interrupt acts on it when it is open),
     * then its answer is written; a redirect connection being opened
     * (connecting, then its setup statements) holds the openers' threads,
     * which are joined before exit. */
    const milliseconds after =
        std::max(milliseconds(connect_timeout + HttpServer::after_drain()) + repeat_interrupt_interval,
                 milliseconds(2 * connect_timeout));
    return std::chrono::ceil<std::chrono::seconds>(options.stop_timeout + after);
}

} // namespace url_shortener::server
