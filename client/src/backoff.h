/*
 * backoff.h
 *    The wait before retrying a transient failure.
 */
#ifndef URL_SHORTENER_CLIENT_BACKOFF_H
#define URL_SHORTENER_CLIENT_BACKOFF_H

#include <chrono>
#include <random>

#include "url_shortener/client.h"

namespace url_shortener {

/*
 * Jittered exponential backoff: after failed try n (1-based), a uniformly
 * random wait in [d/2, d] with d = min(max_delay, base_delay * 2^(n-1)).
 * The jitter keeps clients that failed together from retrying together.
 */
std::chrono::milliseconds backoff_delay(const RetryPolicy &policy, int failed_attempt,
                                        std::mt19937_64 &random);

} // namespace url_shortener

#endif
