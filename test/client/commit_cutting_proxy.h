/*
 * commit_cutting_proxy.h
 *    A TCP proxy on 127.0.0.1 in front of the test server (PGHOST, PGPORT)
 *    that forwards every byte both ways, and, once armed, cuts the next
 *    connection that sends COMMIT: it closes both sides without forwarding
 *    the COMMIT, so the server rolls the transaction back and the client
 *    hears nothing.  A connection lost with COMMIT on its way, for any
 *    transaction: a read's COMMIT never waits, so commit_hang.h (which holds
 *    a COMMIT that wrote) cannot lose it.  cut_everything() loses every
 *    connection at once, as a network would (no message from the server).
 *
 *    The client's connection string must name the proxy and disable SSL and
 *    GSS encryption (proxy_dsn() does), so that the protocol stays readable.
 */
#ifndef URL_SHORTENER_TEST_COMMIT_CUTTING_PROXY_H
#define URL_SHORTENER_TEST_COMMIT_CUTTING_PROXY_H

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace url_shortener::test {

class CommitCuttingProxy {
public:
    /* Listens on an ephemeral port; throws std::runtime_error on failure. */
    CommitCuttingProxy();
    ~CommitCuttingProxy();
    CommitCuttingProxy(const CommitCuttingProxy &) = delete;
    CommitCuttingProxy &operator=(const CommitCuttingProxy &) = delete;

    /* A connection string for the test database through the proxy. */
    std::string proxy_dsn(const std::string &extra = {}) const;

    /* The next COMMIT sent through the proxy cuts its connection. */
    void cut_next_commit() { armed_ = true; }

    /* How many connections a COMMIT has cut. */
    int commits_cut() const { return cut_; }

    /* Closes every connection through the proxy, now and from now on: the
     * client's end reads EOF wherever it is (a statement waiting, say). */
    void cut_everything();

private:
    void accept_loop();
    void relay(int client, int server);

    int listener_ = -1;
    int stop_pipe_[2] = {-1, -1};
    int cut_pipe_[2] = {-1, -1};       /* readable once cut_everything() was called */
    int port_ = 0;
    std::atomic<bool> armed_{false};
    std::atomic<int> cut_{0};
    std::vector<std::thread> relays_;
    std::thread acceptor_;
};

} // namespace url_shortener::test

#endif
