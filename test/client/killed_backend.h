/*
 * killed_backend.h
 *    Killing a client's backend in the middle of a statement, to test what
 *    a lost connection means to the caller: hold the generation lock so a
 *    *_locked call waits on it, start the call on another thread, and
 *    terminate the call's backend (from a connection of its own) once it
 *    waits.  The test then finish()es the call to see the error, and lets
 *    the lock go to see what was stored.
 *
 *        GenerationLock lock;
 *        Client client(dsn("application_name=" + name));
 *        auto call = call_with_backend_killed(name, [&] { return client.shorten_locked(url); });
 *        EXPECT_THROW(finish(call), OutcomeUnknown);
 *        lock.release();
 *        EXPECT_EQ(links_to(url), 0);
 */
#ifndef URL_SHORTENER_KILLED_BACKEND_H
#define URL_SHORTENER_KILLED_BACKEND_H

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <pqxx/connection>
#include <pqxx/transaction>

#include "test_database.h"

namespace url_shortener::test {

/*
 * The advisory lock shorten_url_locked serializes generation with,
 * pg_advisory_xact_lock(1431456851, 1), held by an open transaction on a
 * connection of its own until release() or destruction: a *_locked call
 * meanwhile waits on a heavyweight lock.
 */
class GenerationLock {
public:
    GenerationLock();
    /*
     * The same, but the holding session ends after given_up_after idle
     * (idle_in_transaction_session_timeout), which frees the lock: a call
     * that waits longer than that gets it and succeeds.  For a test of a
     * timeout shorter than given_up_after whose default is longer, so that
     * the default in its place changes the outcome, not only the time.
     */
    explicit GenerationLock(std::chrono::seconds given_up_after);
    GenerationLock(const GenerationLock &) = delete;
    GenerationLock &operator=(const GenerationLock &) = delete;

    /* Rolls the holding transaction back, which frees the lock. */
    void release();

private:
    std::unique_ptr<pqxx::connection> connection_;
    std::unique_ptr<pqxx::work> holding_;
};

/* Waits for a call made on another thread; bounded (two minutes) so a hang fails the test. */
template <typename T>
T finish(std::future<T> &call)
{
    if (call.wait_for(std::chrono::minutes(2)) != std::future_status::ready)
        throw std::runtime_error("the call never finished");
    return call.get();
}

/*
 * Starts call on another thread, waits (bounded) until the one backend
 * named application_name (already connected) waits on a lock (a
 * GenerationLock, or a row lock another transaction holds), then
 * terminates that backend and waits until it has exited.  Returns the
 * call's future: the call's statement died mid-run, so finish() shows what
 * the call made of the lost connection.
 */
template <typename Call>
std::future<std::invoke_result_t<Call>> call_with_backend_killed(
    const std::string &application_name, Call call)
{
    const int pid = backend_pid(application_name);
    auto running = std::async(std::launch::async, std::move(call));
    wait_until_waiting_on_lock(pid);
    terminate_backend(pid);
    return running;
}

} // namespace url_shortener::test

#endif
