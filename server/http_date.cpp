/*
 * http_date.cpp
 *    The Date header's value (see http_date.h).
 */
#include "http_date.h"

#include <cstdio>

namespace url_shortener::server {

std::string http_date(std::time_t time)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm utc{};
    gmtime_r(&time, &utc);
    char text[32];
    std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[utc.tm_wday],
                  utc.tm_mday, months[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min,
                  utc.tm_sec);
    return text;
}

const std::string &http_date_now()
{
    /* Per thread: the I/O thread and each worker answer, none waits for another. */
    thread_local std::time_t formatted_at = -1;
    thread_local std::string formatted;
    const std::time_t now = std::time(nullptr);
    if (now != formatted_at) {
        formatted = http_date(now);
        formatted_at = now;
    }
    return formatted;
}

} // namespace url_shortener::server
