/*
 * server_connection.cpp
 *    Opening, probing and replacing the Client's connection.
 */
#include "server_connection.h"

#include <pqxx/except>
#include <pqxx/nontransaction>

#include "failure_classification.h"
#include "statements.h"
#include "url_shortener/errors.h"

namespace url_shortener {

ServerConnection::ServerConnection(std::string connection_string)
    : connection_string_(std::move(connection_string))
{
    connect();
}

void ServerConnection::connect()
{
    connection_.reset();
    try {
        connection_ = std::make_unique<pqxx::connection>(connection_string_);
    } catch (const pqxx::broken_connection &e) {
        throw ConnectionLost("could not connect to the server: " + one_line(e.what()), {},
                             e.what());
    }

    /*
     * Find the extension's schema and prepare now rather than on first use:
     * a missing extension shows up here, and a later failure of a statement
     * is never a failed PREPARE mistaken for a statement of unknown outcome.
     */
    try {
        std::string schema;
        {
            pqxx::nontransaction lookup(*connection_, "url_shortener schema lookup");
            const pqxx::result rows = lookup.exec(statements::extension_schema);
            if (rows.empty())
                throw ServerError("the url_shortener extension is not installed in this database",
                                  "42704",
                                  "Run \"CREATE EXTENSION url_shortener\" in the database "
                                  "the client connects to.");
            schema = connection_->quote_name(rows[0][0].as<std::string>());
            has_lifecycle_ = rows[0][1].as<std::string>() != "1.0";
        }
        for (const statements::Statement &s : statements::all) {
            connection_->prepare(s.name, s.sql(schema));
            connection_->prepare_now(s.name);
        }
        if (has_lifecycle_)
            for (const statements::Statement &s : statements::lifecycle) {
                connection_->prepare(s.name, s.sql(schema));
                connection_->prepare_now(s.name);
            }
    } catch (const pqxx::sql_error &e) {
        std::rethrow_exception(error_for_sqlstate(e.sqlstate(), e.what()));
    } catch (const pqxx::failure &e) {
        throw ConnectionLost("lost the connection while preparing statements: " +
                                 one_line(e.what()),
                             {}, e.what());
    }
}

bool ServerConnection::is_open() const
{
    return connection_ && connection_->is_open();
}

bool ServerConnection::probe()
{
    /*
     * One read may take only the FATAL report the server sent before closing;
     * the next sees end-of-file.  A healthy idle connection has nothing to
     * read, and each read returns at once.
     */
    try {
        for (int read = 0; read < 2 && is_open(); ++read)
            connection_->get_notifs();
    } catch (const pqxx::broken_connection &) {
        return false;
    }
    return is_open();
}

void ServerConnection::reconnect()
{
    connect();
}

} // namespace url_shortener
