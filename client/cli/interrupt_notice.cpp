/*
 * interrupt_notice.cpp
 *    The signal handler of interrupt_notice.h.  It only calls write(2),
 *    sigaction(2), sigprocmask(2), raise(3) and _exit(2), all
 *    async-signal-safe, on a notice made before it was installed; a later
 *    notice replaces it while both signals are blocked.
 */
#include "interrupt_notice.h"

#include <atomic>
#include <csignal>
#include <unistd.h>

namespace url_shortener::cli {
namespace {

static_assert(std::atomic<std::string *>::is_always_lock_free);

/* Lock-free, so the handler may read it; changed only with both signals blocked. */
std::atomic<std::string *> installed_notice{nullptr};

extern "C" void write_notice_and_end(int signal_number)
{
    const std::string &notice = *installed_notice.load();
    std::size_t written = 0;
    while (written < notice.size()) {
        const ssize_t n = write(STDERR_FILENO, notice.data() + written, notice.size() - written);
        if (n <= 0)
            break;      /* stderr is gone too: the way the process ends still says it */
        written += static_cast<std::size_t>(n);
    }
    /* End by the signal itself, so that a shell waiting for the tool sees
     * it interrupted (and a script stops, as after any Ctrl-C). */
    struct sigaction default_action = {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    sigaction(signal_number, &default_action, nullptr);
    sigset_t just_this;
    sigemptyset(&just_this);
    sigaddset(&just_this, signal_number);
    sigprocmask(SIG_UNBLOCK, &just_this, nullptr);
    raise(signal_number);
    _exit(128 + signal_number);     /* not reached */
}

} // namespace

void say_on_interrupt(std::string notice)
{
    auto *replacement = new std::string("\n" + notice + "\n");
    sigset_t both, before;
    sigemptyset(&both);
    sigaddset(&both, SIGINT);
    sigaddset(&both, SIGTERM);

    /* No handler runs while the notice changes: it never reads a freed one. */
    sigprocmask(SIG_BLOCK, &both, &before);
    std::string *const replaced = installed_notice.exchange(replacement);
    if (!replaced) {
        struct sigaction action = {};
        action.sa_handler = write_notice_and_end;
        action.sa_mask = both;
        for (const int signal_number : {SIGINT, SIGTERM}) {
            /* A signal the tool was started with ignored (a background job
             * of a shell without job control) stays ignored. */
            struct sigaction current = {};
            if (sigaction(signal_number, nullptr, &current) == 0 && current.sa_handler == SIG_IGN)
                continue;
            sigaction(signal_number, &action, nullptr);
        }
    }
    sigprocmask(SIG_SETMASK, &before, nullptr);
    delete replaced;    /* the last one is kept to the exit */
}

} // namespace url_shortener::cli
