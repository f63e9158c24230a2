/*
 * interrupt_notice.cpp
 *    The signal handler of interrupt_notice.h.  It only calls write(2) and
 *    _exit(2), both async-signal-safe, on a buffer made before the handler
 *    was installed and never changed after.
 */
#include "interrupt_notice.h"

#include <csignal>
#include <unistd.h>

namespace url_shortener::cli {
namespace {

std::string *installed_notice = nullptr;

extern "C" void write_notice_and_exit(int signal_number)
{
    const std::string &notice = *installed_notice;
    std::size_t written = 0;
    while (written < notice.size()) {
        const ssize_t n = write(STDERR_FILENO, notice.data() + written, notice.size() - written);
        if (n <= 0)
            break;      /* stderr is gone too: the exit status still says it */
        written += static_cast<std::size_t>(n);
    }
    _exit(128 + signal_number);
}

} // namespace

void say_on_interrupt(std::string notice)
{
    installed_notice = new std::string("\n" + notice + "\n");   /* kept to the exit */
    struct sigaction action = {};
    action.sa_handler = write_notice_and_exit;
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, SIGINT);
    sigaddset(&action.sa_mask, SIGTERM);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

} // namespace url_shortener::cli
