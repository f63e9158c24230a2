/*
 * url_shortener/rfc3339.h
 *    RFC 3339 text to a time point and back, to the microsecond: the
 *    timestamps of url-shortener-server's JSON and of the CLI's
 *    --expires-at (LinkOptions::expires_at, LinkStats).
 */
#ifndef URL_SHORTENER_RFC3339_H
#define URL_SHORTENER_RFC3339_H

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "url_shortener/export.h"

namespace url_shortener {

/*
 * Reads "2026-11-23T14:00:00Z", "2026-11-23t14:00:00.5+01:00", ... (RFC 3339
 * section 5.6 date-time); std::nullopt for anything else, and for a time
 * the system clock cannot hold (before about 1677 or after about 2262).
 * Digits past the microsecond are dropped; a leap second (:60) is taken
 * only as the last second of a UTC day, as the second before it.
 */
URL_SHORTENER_CLIENT_EXPORT std::optional<std::chrono::system_clock::time_point> parse_rfc3339(
    std::string_view text);

/* Writes UTC with a "Z", with microseconds only when they are not zero;
 * "infinity" for time_point::max() (an expiry past the clock's range). */
URL_SHORTENER_CLIENT_EXPORT std::string format_rfc3339(std::chrono::system_clock::time_point when);

} // namespace url_shortener

#endif
