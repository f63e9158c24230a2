/*
 * rfc3339.cpp
 *    RFC 3339 date-time parsing and formatting (see rfc3339.h).
 */
#include "url_shortener/rfc3339.h"

#include "utc_time.h"

#include <charconv>
#include <cstdio>

namespace url_shortener {

namespace {

/* Reads exactly `digits` decimal digits at text[pos]. */
bool read_number(std::string_view text, std::size_t pos, std::size_t digits, int &out)
{
    if (pos + digits > text.size())
        return false;
    for (std::size_t i = pos; i < pos + digits; ++i)
        if (text[i] < '0' || text[i] > '9')
            return false;
    std::from_chars(text.data() + pos, text.data() + pos + digits, out);
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
long long days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const long long era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<long long>(doe) - 719468;
}

/* Gregorian leap years, to refuse February 29 elsewhere. */
bool leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

} // namespace

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text)
{
    int year, month, day, hour, minute, second;
    if (!read_number(text, 0, 4, year) || text.size() < 20 || text[4] != '-' ||
        !read_number(text, 5, 2, month) || text[7] != '-' || !read_number(text, 8, 2, day) ||
        (text[10] != 'T' && text[10] != 't') || !read_number(text, 11, 2, hour) ||
        text[13] != ':' || !read_number(text, 14, 2, minute) || text[16] != ':' ||
        !read_number(text, 17, 2, second))
        return std::nullopt;
    static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1 || day > month_days[month - 1] ||
        (month == 2 && day == 29 && !leap_year(year)) || hour > 23 || minute > 59 || second > 60)
        return std::nullopt;
    /* A leap second: the instant before is close enough for an expiry.
     * RFC 3339 (5.7) allows one only as the last second of a UTC day
     * (23:59:60Z, or its local time under an offset); checked below. */
    const bool leap_second = second == 60;
    if (leap_second)
        second = 59;

    std::size_t pos = 19;
    long long micros = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        std::size_t digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 6)
                micros = micros * 10 + (text[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0)
            return std::nullopt;
        for (std::size_t i = digits; i < 6; ++i)
            micros *= 10;
    }

    long long offset_seconds = 0;
    if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
        ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        int oh, om;
        if (!read_number(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
            !read_number(text, pos + 4, 2, om) || oh > 23 || om > 59)
            return std::nullopt;
        offset_seconds = (oh * 60LL + om) * 60 * (text[pos] == '+' ? 1 : -1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != text.size())
        return std::nullopt;

    const long long seconds = days_from_civil(year, static_cast<unsigned>(month),
                                              static_cast<unsigned>(day)) * 86400 +
                              hour * 3600LL + minute * 60LL + second - offset_seconds;
    /* The clock counts nanoseconds in 64 bits: about 1677 to 2262.  Outside,
     * the conversion would wrap (a date in 1486 became one in 2070). */
    constexpr long long limit =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::duration::max())
            .count() - 1;
    if (seconds > limit || seconds < -limit)
        return std::nullopt;
    if (leap_second && ((seconds % 86400) + 86400) % 86400 != 86399)
        return std::nullopt;
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(seconds) + std::chrono::microseconds(micros)));
}

UtcTime utc_time(std::chrono::system_clock::time_point t)
{
    const long long micros =
        std::chrono::floor<std::chrono::microseconds>(t.time_since_epoch()).count();
    constexpr long long per_day = 86400LL * 1000000LL;
    long long days = micros / per_day, in_day = micros % per_day;
    if (in_day < 0) {
        days -= 1;
        in_day += per_day;
    }
    /* Howard Hinnant's civil_from_days: eras of 400 years from 0000-03-01. */
    days += 719468;
    const long long era = (days >= 0 ? days : days - 146096) / 146097;
    const long long doe = days - era * 146097;
    const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const long long mp = (5 * doy + 2) / 153;
    const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    const long long seconds = in_day / 1000000;
    return UtcTime{yoe + era * 400 + (month <= 2 ? 1 : 0), month, day,
                   static_cast<int>(seconds / 3600), static_cast<int>(seconds / 60 % 60),
                   static_cast<int>(seconds % 60), in_day % 1000000};
}

std::string format_rfc3339(std::chrono::system_clock::time_point when)
{
    using namespace std::chrono;
    /* What the client library reads for a time past the clock's range. */
    if (when == system_clock::time_point::max())
        return "infinity";
    if (when == system_clock::time_point::min())
        return "-infinity";
    const UtcTime u = utc_time(when);
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02d", u.year, u.month,
                          u.day, u.hour, u.minute, u.second);
    if (u.microsecond != 0)
        n += std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), ".%06lld",
                           u.microsecond);
    std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), "Z");
    return buf;
}

} // namespace url_shortener
