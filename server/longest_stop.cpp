/*
 * longest_stop.cpp
 *    The deadlines a request in flight at a stop may still use, added up
 *    (see longest_stop.h).
 */
#include "longest_stop.h"

#include <algorithm>

#include "call_deadline.h"
#include "http_server.h"
#include "json_links.h"

namespace url_shortener::server {

std::chrono::seconds longest_stop(const ServerOptions &options, std::chrono::seconds connect_timeout,
                                  std::size_t batch_chunk_size)
{
    using std::chrono::milliseconds;
    const std::size_t redirect_batch = std::max<std::size_t>(options.redirect_batch, 1);
    /* A redirect's batch: a statement timeout for each of its redirects
     * (RedirectConnections::arm_deadline). */
    const milliseconds redirect = unanswered_limit(options.statement_timeout, redirect_batch);
    /* An API call: a single one, or the largest batch a body can hold;
     * with a new connection's connect timeout (CallDeadlines::Watch). */
    const std::size_t statements =
        std::max(call_statements,
                 batch_call_statements(most_batch_urls(options.max_body_bytes), batch_chunk_size));
    const milliseconds api =
        milliseconds(connect_timeout) + unanswered_limit(options.statement_timeout, statements);
    /* Either waits for its pool first; a redirect connection being opened
     * meanwhile takes at most twice the connect timeout (connecting, then
     * its setup statements). */
    const milliseconds answered = std::max(options.pool_wait + std::max(redirect, api),
                                           milliseconds(2 * connect_timeout));
    const milliseconds total = milliseconds(HttpServer::longest_exchange()) + answered;
    return std::chrono::ceil<std::chrono::seconds>(total);
}

} // namespace url_shortener::server
