/*
 * rfc3339_test.cpp
 *    The library's RFC 3339 text of a time (url_shortener/rfc3339.h),
 *    which the server's JSON and the CLI print: the same under any TZ of
 *    this process.  Made with gmtime_r, a TZ of right/ (leap seconds
 *    counted) printed every time since 1972 up to 27 seconds early.
 */
#include <chrono>
#include <ctime>
#include <string>

#include <gtest/gtest.h>

#include "scoped_tz.h"
#include "url_shortener/rfc3339.h"

using std::chrono::microseconds;
using std::chrono::system_clock;
using url_shortener::format_rfc3339;
using url_shortener::parse_rfc3339;

namespace {

system_clock::time_point at_microseconds(long long us)
{
    return system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(microseconds(us)));
}

} // namespace

TEST(Rfc3339, FormatsTheSameUnderAnyTz)
{
    REQUIRE_RIGHT_ZONES();
    for (const char *tz : {"UTC", "right/UTC", "Pacific/Chatham", "right/America/New_York"}) {
        ScopedTz scoped(tz);
        EXPECT_EQ(format_rfc3339(at_microseconds(1796666292000000LL)), "2026-12-07T17:58:12Z") << tz;
        EXPECT_EQ(format_rfc3339(at_microseconds(951782400000001LL)), "2000-02-29T00:00:00.000001Z")
            << tz;
        EXPECT_EQ(format_rfc3339(at_microseconds(-1)), "1969-12-31T23:59:59.999999Z") << tz;
        EXPECT_EQ(format_rfc3339(at_microseconds(9223372036854775LL)),
                  "2262-04-11T23:47:16.854775Z")
            << tz;
    }
}

TEST(Rfc3339, WhatItFormatsParsesBackToTheMicrosecond)
{
    REQUIRE_RIGHT_ZONES();
    ScopedTz scoped("right/UTC");
    for (long long us : {0LL, -1LL, 1796666292123456LL, -9223372030000001LL, 9223372030000001LL}) {
        const std::optional<system_clock::time_point> back = parse_rfc3339(format_rfc3339(at_microseconds(us)));
        ASSERT_TRUE(back) << us;
        EXPECT_EQ(std::chrono::floor<microseconds>(back->time_since_epoch()).count(), us);
    }
}
