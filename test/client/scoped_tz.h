/*
 * scoped_tz.h
 *    Sets this process's TZ for a test's life and puts the old one back:
 *    the client's times must not depend on it (a right/ zone counts leap
 *    seconds in gmtime_r).
 */
#ifndef URL_SHORTENER_TEST_SCOPED_TZ_H
#define URL_SHORTENER_TEST_SCOPED_TZ_H

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include <gtest/gtest.h>

class ScopedTz {
public:
    explicit ScopedTz(const char *tz)
    {
        const char *old = std::getenv("TZ");
        had_ = old != nullptr;
        if (had_)
            old_ = old;
        setenv("TZ", tz, 1);
        tzset();
    }
    ~ScopedTz()
    {
        if (had_)
            setenv("TZ", old_.c_str(), 1);
        else
            unsetenv("TZ");
        tzset();
    }
    ScopedTz(const ScopedTz &) = delete;
    ScopedTz &operator=(const ScopedTz &) = delete;

private:
    bool had_ = false;
    std::string old_;
};

/* Without the right/ zones (tzdata-legacy from Debian trixie) glibc falls
 * back to UTC, and a test that sets one could not tell gmtime_r from the
 * day count. */
inline bool has_right_zones()
{
    if (std::FILE *f = std::fopen("/usr/share/zoneinfo/right/UTC", "rb")) {
        std::fclose(f);
        return true;
    }
    return false;
}

/* At the top of a test that sets a right/ zone: skips it without them,
 * and fails it under CI=true, where they must be installed. */
#define REQUIRE_RIGHT_ZONES()                                                              \
    do {                                                                                   \
        if (!has_right_zones()) {                                                          \
            const char *ci_ = std::getenv("CI");                                           \
            if (ci_ != nullptr && std::string(ci_) == "true")                              \
                FAIL() << "/usr/share/zoneinfo/right/UTC is missing (install tzdata's right/ zones)"; \
            GTEST_SKIP() << "/usr/share/zoneinfo/right/UTC is missing";                   \
        }                                                                                  \
    } while (false)

#endif
