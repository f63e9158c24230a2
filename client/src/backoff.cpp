/*
 * backoff.cpp
 *    Jittered exponential backoff for RetryPolicy.
 */
#include "backoff.h"

#include <algorithm>

namespace url_shortener {

std::chrono::milliseconds backoff_delay(const RetryPolicy &policy, int failed_attempt,
                                        std::mt19937_64 &random)
{
    using std::chrono::milliseconds;
    /* At most a day: a wait of milliseconds::max() overflows the clock's
     * nanoseconds, and would not be waited at all. */
    constexpr milliseconds::rep longest = 24 * 60 * 60 * 1000;
    const milliseconds::rep cap = std::clamp<milliseconds::rep>(policy.max_delay.count(), 0, longest);
    milliseconds::rep ceiling = std::clamp<milliseconds::rep>(policy.base_delay.count(), 0, cap);

    /* Double once per earlier failure, stopping at the cap (no overflow). */
    for (int n = 1; n < failed_attempt && ceiling < cap; ++n)
        ceiling = ceiling > cap / 2 ? cap : ceiling * 2;

    std::uniform_int_distribution<milliseconds::rep> pick(ceiling / 2, ceiling);
    return milliseconds(pick(random));
}

} // namespace url_shortener
