/*
 * http_date.h
 *    The Date header of every answer (RFC 9110, 6.6.1: an origin server
 *    with a clock sends one on every 2xx, 3xx and 4xx answer), in the
 *    IMF-fixdate form, "Sun, 06 Nov 1994 08:49:37 GMT".
 */
#ifndef URL_SHORTENER_SERVER_HTTP_DATE_H
#define URL_SHORTENER_SERVER_HTTP_DATE_H

#include <ctime>
#include <string>

namespace url_shortener::server {

/* time as an IMF-fixdate (UTC); English names whatever the locale. */
std::string http_date(std::time_t time);

/* The current second's IMF-fixdate, formatted once a second per thread. */
const std::string &http_date_now();

} // namespace url_shortener::server

#endif
