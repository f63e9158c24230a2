/*
 * scoped_tz.h
 *    Sets this process's TZ for a test's life and puts the old one back:
 *    the client's times must not depend on it (a right/ zone counts leap
 *    seconds in gmtime_r).
 */
#ifndef URL_SHORTENER_TEST_SCOPED_TZ_H
#define URL_SHORTENER_TEST_SCOPED_TZ_H

#include <cstdlib>
#include <ctime>
#include <string>

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

#endif
