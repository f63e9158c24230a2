/*
 * setup_deadline.cpp
 *    The thread that shuts down a connection whose setup takes too long.
 */
#include "setup_deadline.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "failure_classification.h"

namespace url_shortener {

SetupDeadline::SetupDeadline(int socket, std::chrono::seconds limit) : limit_(limit)
{
    if (limit_.count() <= 0)
        return;
    socket_ = ::fcntl(socket, F_DUPFD_CLOEXEC, 0);
    if (socket_ < 0)
        throw ConnectionLost(std::string("could not duplicate the connection's socket: ") +
                                 std::strerror(errno),
                             sqlstate_cannot_connect);
    try {
        thread_ = std::thread([this] { watch(); });
    } catch (const std::system_error &e) {
        ::close(socket_);
        socket_ = -1;
        throw ConnectionLost(std::string("could not start the connection's setup timer: ") +
                                 e.what(),
                             sqlstate_cannot_connect);
    }
}

SetupDeadline::~SetupDeadline()
{
    finish();
}

void SetupDeadline::watch()
{
    std::unique_lock<std::mutex> lock(mutex_);
    if (done_signal_.wait_for(lock, limit_, [this] { return done_; }))
        return;
    /* Under the mutex: finish() cannot return before this is done. */
    ::shutdown(socket_, SHUT_RDWR);
    fired_ = true;
}

bool SetupDeadline::finish() noexcept
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        done_ = true;
    }
    done_signal_.notify_all();
    if (thread_.joinable())
        thread_.join();
    if (socket_ >= 0) {
        ::close(socket_);
        socket_ = -1;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    return fired_;
}

ConnectionLost SetupDeadline::expired() const
{
    return ConnectionLost("the server did not answer within " + std::to_string(limit_.count()) +
                              " s while the connection was being prepared",
                          sqlstate_cannot_connect);
}

} // namespace url_shortener
