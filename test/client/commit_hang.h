/*
 * commit_hang.h
 *    Losing the connection during COMMIT after the server has committed,
 *    for the idempotency tests of the library and the CLI.
 *
 *    Synchronous replication to a standby that does not exist makes every
 *    COMMIT that wrote something wait (wait_event SyncRep) after its commit
 *    record is flushed and before the client hears back.  Terminating the
 *    backend while it waits leaves the transaction committed and the client
 *    without an answer: what a connection lost during COMMIT can be at
 *    worst.  CommitsHang sets this for the whole test cluster (ALTER SYSTEM)
 *    and undoes it; reading goes on meanwhile.
 *
 *        CommitsHang hang;
 *        auto call = call_with_commit_lost(name, [&] { return client.shorten(url); });
 *        ... hang.release() (from on_retry, to let a retry commit) ...
 *        finish(call);
 */
#ifndef URL_SHORTENER_COMMIT_HANG_H
#define URL_SHORTENER_COMMIT_HANG_H

#include <future>
#include <string>
#include <type_traits>
#include <utility>

#include "test_database.h"

namespace url_shortener::test {

class CommitsHang {
public:
    /* Waits (bounded) until commits wait for the standby that never comes. */
    CommitsHang();
    CommitsHang(const CommitsHang &) = delete;
    CommitsHang &operator=(const CommitsHang &) = delete;
    ~CommitsHang();

    /* Commits go through again (for new sessions) once this returns. */
    void release();

private:
    bool held_ = true;
};

/* Waits (bounded) until backend pid waits in COMMIT for the standby. */
void wait_until_committing(int pid);

/*
 * Starts call on another thread, waits until the one backend named
 * application_name waits in COMMIT (under a CommitsHang), and terminates
 * it: the server has committed, the client never hears so.  Returns the
 * call's future (finish() it).
 */
template <typename Call>
std::future<std::invoke_result_t<Call &>> call_with_commit_lost(const std::string &application_name,
                                                                Call call)
{
    auto running = std::async(std::launch::async, std::move(call));
    const int pid = backend_pid(application_name);
    wait_until_committing(pid);
    terminate_backend(pid);
    return running;
}

} // namespace url_shortener::test

#endif
