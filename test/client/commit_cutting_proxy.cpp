/*
 * commit_cutting_proxy.cpp
 *    The proxy that cuts a connection at its COMMIT (commit_cutting_proxy.h):
 *    plain sockets, a thread per relayed connection, and just enough of the
 *    frontend protocol to find message boundaries (a length after the type
 *    byte; the startup packets before it have none).
 */
#include "commit_cutting_proxy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "test_database.h"

namespace url_shortener::test {

namespace {

std::runtime_error system_error(const std::string &what)
{
    return std::runtime_error(what + ": " + std::strerror(errno));
}

/* A new connection to the test server, where libpq would make it. */
int connect_to_server()
{
    const char *host_env = std::getenv("PGHOST");
    const char *port_env = std::getenv("PGPORT");
    const std::string host = host_env && *host_env ? host_env : "localhost";
    const std::string port = port_env && *port_env ? port_env : "5432";
    if (host[0] == '/') {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const std::string path = host + "/.s.PGSQL." + port;
        if (path.size() >= sizeof(address.sun_path))
            throw std::runtime_error("socket path too long: " + path);
        std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0)
            throw system_error("socket");
        if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0) {
            const auto error = system_error("connect to " + path);
            ::close(fd);
            throw error;
        }
        return fd;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *found = nullptr;
    if (const int status = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); status != 0)
        throw std::runtime_error("cannot resolve " + host + ": " + ::gai_strerror(status));
    for (addrinfo *a = found; a; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0)
            continue;
        if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            ::freeaddrinfo(found);
            return fd;
        }
        ::close(fd);
    }
    ::freeaddrinfo(found);
    throw std::runtime_error("cannot connect to " + host + " port " + port);
}

bool send_all(int fd, const char *data, std::size_t size)
{
    while (size > 0) {
        const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return false;
        data += sent;
        size -= static_cast<std::size_t>(sent);
    }
    return true;
}

std::uint32_t big_endian_32(const char *p)
{
    std::uint32_t value;
    std::memcpy(&value, p, sizeof(value));
    return ntohl(value);
}

constexpr std::uint32_t ssl_request = 80877103;
constexpr std::uint32_t gssenc_request = 80877104;
constexpr char commit_query[] = "COMMIT";  // libpqxx's, as a simple query

} // namespace

CommitCuttingProxy::CommitCuttingProxy()
{
    if (::pipe(stop_pipe_) != 0)
        throw system_error("pipe");
    if (::pipe(cut_pipe_) != 0) {
        const auto error = system_error("pipe");
        ::close(stop_pipe_[0]);
        ::close(stop_pipe_[1]);
        throw error;
    }
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr *>(&address), &length) != 0) {
        const auto error = system_error("cannot listen on 127.0.0.1");
        if (listener_ >= 0)
            ::close(listener_);
        for (int fd : {stop_pipe_[0], stop_pipe_[1], cut_pipe_[0], cut_pipe_[1]})
            ::close(fd);
        throw error;
    }
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

CommitCuttingProxy::~CommitCuttingProxy()
{
    /* Readable from now on for every poll below: each loop ends. */
    const char stop = 0;
    (void)!::write(stop_pipe_[1], &stop, 1);
    acceptor_.join();
    for (auto &relay : relays_)
        relay.join();
    ::close(listener_);
    for (int fd : {stop_pipe_[0], stop_pipe_[1], cut_pipe_[0], cut_pipe_[1]})
        ::close(fd);
}

void CommitCuttingProxy::cut_everything()
{
    const char cut = 0;
    (void)!::write(cut_pipe_[1], &cut, 1);
}

std::string CommitCuttingProxy::proxy_dsn(const std::string &extra) const
{
    return dsn("host=127.0.0.1 port=" + std::to_string(port_) + " sslmode=disable gssencmode=disable" +
               (extra.empty() ? "" : " " + extra));
}

void CommitCuttingProxy::accept_loop()
{
    for (;;) {
        pollfd fds[2] = {{listener_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0 && errno != EINTR)
            return;
        if (fds[1].revents)
            return;
        if (!(fds[0].revents & POLLIN))
            continue;
        const int client = ::accept(listener_, nullptr, nullptr);
        if (client < 0)
            continue;
        int server;
        try {
            server = connect_to_server();
        } catch (const std::exception &) {
            ::close(client);  // the client sees its connection refused
            continue;
        }
        const int on = 1;
        ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        ::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));  // fails harmlessly on a Unix socket
        relays_.emplace_back([this, client, server] { relay(client, server); });
    }
}

void CommitCuttingProxy::relay(int client, int server)
{
    std::string pending;          // bytes from the client not yet forwarded
    bool in_startup = true;       // startup packets have no type byte
    char buffer[65536];
    for (;;) {
        pollfd fds[4] = {{client, POLLIN, 0}, {server, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0},
                         {cut_pipe_[0], POLLIN, 0}};
        if (::poll(fds, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[2].revents || fds[3].revents)
            break;
        if (fds[1].revents) {
            const ssize_t got = ::recv(server, buffer, sizeof(buffer), 0);
            if (got <= 0 || !send_all(client, buffer, static_cast<std::size_t>(got)))
                break;
        }
        if (fds[0].revents) {
            const ssize_t got = ::recv(client, buffer, sizeof(buffer), 0);
            if (got <= 0)
                break;
            pending.append(buffer, static_cast<std::size_t>(got));
            /* Forward the whole messages received, in one send (as the
             * client sent them: no small writes for Nagle to hold back). */
            std::size_t whole = 0;
            bool cut = false;
            for (;;) {
                const char *message = pending.data() + whole;
                const std::size_t left = pending.size() - whole;
                const std::size_t header = in_startup ? 4 : 5;
                if (left < header)
                    break;
                const std::size_t size = (in_startup ? 0 : 1) + big_endian_32(message + header - 4);
                if (left < size)
                    break;
                if (in_startup) {
                    const std::uint32_t code = size >= 8 ? big_endian_32(message + 4) : 0;
                    in_startup = code == ssl_request || code == gssenc_request;
                } else if (message[0] == 'Q' && size == 5 + sizeof(commit_query) &&
                           std::memcmp(message + 5, commit_query, sizeof(commit_query)) == 0 &&
                           armed_.exchange(false)) {
                    cut = true;
                    break;
                }
                whole += size;
            }
            if (!send_all(server, pending.data(), whole))
                break;
            pending.erase(0, whole);
            if (cut) {
                ++cut_;
                break;
            }
        }
    }
    ::close(client);
    ::close(server);
}

} // namespace url_shortener::test
