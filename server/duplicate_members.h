/*
 * duplicate_members.h
 *    Finding a member named twice in one JSON object.  Boost.JSON keeps one
 *    of them (RFC 8259 leaves the meaning of such an object open), so a
 *    filter in front of the API that read the other would check another
 *    value than the one the server takes: the API refuses such bodies.
 */
#ifndef URL_SHORTENER_SERVER_DUPLICATE_MEMBERS_H
#define URL_SHORTENER_SERVER_DUPLICATE_MEMBERS_H

#include <optional>
#include <string>
#include <string_view>

namespace url_shortener::server {

/*
 * The first name that an object of json (at any depth) holds twice, or
 * std::nullopt if none does or json is not valid JSON (which the caller's
 * own parse reports).  Time and memory linear in the size of json.
 */
std::optional<std::string> first_duplicate_member(std::string_view json);

} // namespace url_shortener::server

#endif
