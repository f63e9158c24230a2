/*
 * http_types.h
 *    The HTTP message types every part of the server speaks: a request with
 *    its whole body in a string, and a response likewise, from Boost.Beast.
 */
#ifndef URL_SHORTENER_SERVER_HTTP_TYPES_H
#define URL_SHORTENER_SERVER_HTTP_TYPES_H

#include <functional>

#include <boost/beast/http.hpp>

namespace url_shortener::server {

namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

/* Receives the answer to one request, exactly once, on any thread. */
using Respond = std::function<void(Response)>;

} // namespace url_shortener::server

#endif
