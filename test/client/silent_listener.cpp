/*
 * silent_listener.cpp
 *    The listener that never answers (silent_listener.h), on a plain socket.
 */
#include "silent_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace url_shortener::test {

SilentListener::SilentListener()
{
    socket_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (socket_ < 0)
        throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    if (::bind(socket_, reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0 ||
        ::listen(socket_, 64) != 0 ||
        ::getsockname(socket_, reinterpret_cast<sockaddr *>(&address), &length) != 0) {
        const std::string reason = std::strerror(errno);
        ::close(socket_);
        throw std::runtime_error("cannot listen on 127.0.0.1: " + reason);
    }
    port_ = ntohs(address.sin_port);
}

SilentListener::~SilentListener()
{
    ::close(socket_);
}

} // namespace url_shortener::test
