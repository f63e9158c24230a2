/*
 * utc_time.h
 *    A time of the system clock as its UTC calendar fields, computed from
 *    the day count (no leap seconds, as in Unix and PostgreSQL time), not
 *    with gmtime_r, which counts them under a TZ of right/.  Shared by
 *    format_rfc3339 and the statements' timestamptz parameters.
 */
#ifndef URL_SHORTENER_UTC_TIME_H
#define URL_SHORTENER_UTC_TIME_H

#include <chrono>

namespace url_shortener {

struct UtcTime {
    long long year;
    int month, day, hour, minute, second;
    long long microsecond;   /* 0 to 999999; the time is floored to it */
};

UtcTime utc_time(std::chrono::system_clock::time_point t);

} // namespace url_shortener

#endif
