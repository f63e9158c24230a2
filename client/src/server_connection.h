/*
 * server_connection.h
 *    The one libpqxx connection a Client owns: opening it with the
 *    statements prepared, noticing (without sending anything) that the
 *    server has closed it, and replacing it.
 */
#ifndef URL_SHORTENER_CLIENT_SERVER_CONNECTION_H
#define URL_SHORTENER_CLIENT_SERVER_CONNECTION_H

#include <memory>
#include <string>

#include <pqxx/connection>

namespace url_shortener {

class ServerConnection {
public:
    /* Connects; throws ConnectionLost or ServerError (see Client::Client). */
    explicit ServerConnection(std::string connection_string);

    pqxx::connection &get() { return *connection_; }

    /* Whether the connection still works after the last exchange. */
    bool is_open() const;

    /*
     * Whether the connection still looks usable, found without sending
     * anything: reads whatever the server sent while the connection was idle
     * (a terminated backend leaves a FATAL report and end-of-file).  A
     * connection that passes may still turn out dead when used.
     */
    bool probe();

    /* Whether the extension is version 1.1 or later (lifecycle calls prepared). */
    bool has_lifecycle() const { return has_lifecycle_; }

    /* Drops the connection and opens a new one, as the constructor does. */
    void reconnect();

private:
    void connect();

    std::string connection_string_;
    std::unique_ptr<pqxx::connection> connection_;
    bool has_lifecycle_ = false;
};

} // namespace url_shortener

#endif
