/*
 * errors.cpp
 *    The constructor shared by every url_shortener error type.
 */
#include "url_shortener/errors.h"

#include <utility>

namespace url_shortener {

Error::Error(const std::string &what, std::string sqlstate, std::string server_message)
    : std::runtime_error(what), sqlstate_(std::move(sqlstate)),
      server_message_(std::move(server_message))
{
}

} // namespace url_shortener
