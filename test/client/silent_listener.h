/*
 * silent_listener.h
 *    A TCP listener on 127.0.0.1 that accepts connections and never says a
 *    word: the kernel completes every handshake into the listen backlog and
 *    nobody reads or answers.  A client without a connect timeout waits on
 *    it forever, which is what the timeout tests need.
 */
#ifndef URL_SHORTENER_TEST_SILENT_LISTENER_H
#define URL_SHORTENER_TEST_SILENT_LISTENER_H

namespace url_shortener::test {

class SilentListener {
public:
    /* Listens on an ephemeral port; throws std::runtime_error on failure. */
    SilentListener();
    ~SilentListener();
    SilentListener(const SilentListener &) = delete;
    SilentListener &operator=(const SilentListener &) = delete;

    int port() const { return port_; }

private:
    int socket_ = -1;
    int port_ = 0;
};

} // namespace url_shortener::test

#endif
