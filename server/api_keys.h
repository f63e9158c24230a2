/*
 * api_keys.h
 *    The keys that open the REST API, read from --api-key-file (one key per
 *    line; blank lines and lines starting with '#' ignored, and a UTF-8
 *    byte order mark at its start), and the check
 *    of an "Authorization: Bearer <key>" header against them in constant
 *    time: how long the check takes does not depend on how much of a key
 *    matched, nor on which key matched.
 */
#ifndef URL_SHORTENER_SERVER_API_KEYS_H
#define URL_SHORTENER_SERVER_API_KEYS_H

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace url_shortener::server {

class ApiKeys {
public:
    ApiKeys() = default;   /* no keys: the API is refused */

    /* Reads path; throws std::runtime_error if it cannot be read or holds no key. */
    static ApiKeys from_file(const std::string &path);

    bool empty() const { return keys_.empty(); }
    std::size_t size() const { return keys_.size(); }

    /* Whether authorization (the header's value) is "Bearer " + one of the keys. */
    bool accepts(std::string_view authorization) const;

private:
    std::vector<std::string> keys_;
};

} // namespace url_shortener::server

#endif
