/*
 * server_connection.cpp
 *    Opening, probing and replacing the Client's connection.
 */
#include "server_connection.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <pqxx/except>
#include <pqxx/nontransaction>

#include "failure_classification.h"
#include "setup_deadline.h"
#include "statements.h"
#include "url_shortener/client.h"
#include "url_shortener/errors.h"

namespace url_shortener {

namespace {

/* A value quoted for a key=value connection string. */
std::string quoted_value(const char *value)
{
    std::string quoted = "'";
    for (const char *c = value; *c; ++c) {
        if (*c == '\'' || *c == '\\')
            quoted += '\\';
        quoted += *c;
    }
    return quoted + "'";
}

using Conninfo = std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)>;

/* connection_string as libpq reads it; InvalidArgument if it cannot. */
/* Replaces each occurrence of text in message by replacement, left to right. */
void replace_all(std::string &message, const std::string &text, const std::string &replacement)
{
    if (text.empty())
        return;
    for (std::size_t at = 0; (at = message.find(text, at)) != std::string::npos;) {
        message.replace(at, text.size(), replacement);
        at += replacement.size();
    }
}

/*
 * libpq's messages about a malformed URI quote the URI, or the part of it
 * it could not decode ("invalid percent-encoded token: \"...\"", a query
 * parameter): a password would go into what(), a CLI's stderr and a
 * server's log.  The URI quoted whole is replaced by itself with its
 * passwords (the user information's, and every password= parameter's)
 * starred out in place, and a part quoted alone that is one of them, or
 * a password= parameter, by stars.  A key=value string's messages quote
 * keywords and stray words, not values.
 */
std::string without_password(std::string message, const std::string &connection_string)
{
    std::size_t start = std::string::npos;
    for (const char *scheme : {"postgresql://", "postgres://"})
        if (connection_string.rfind(scheme, 0) == 0)
            start = std::strlen(scheme);
    if (start == std::string::npos)
        return message;
    constexpr const char *stars = "********";

    /* Where each secret is: [begin, end) in connection_string. */
    std::vector<std::pair<std::size_t, std::size_t>> secrets;
    std::vector<std::string> quoted_parts;
    const std::size_t authority_end = std::min(connection_string.find_first_of("/?", start),
                                               connection_string.size());
    const std::size_t at = connection_string.rfind('@', authority_end);
    if (at != std::string::npos && at >= start) {
        const std::size_t colon = connection_string.find(':', start);
        if (colon < at)
            secrets.emplace_back(colon + 1, at);
    }
    if (const std::size_t query = connection_string.find('?', start); query != std::string::npos) {
        for (std::size_t param = query + 1; param <= connection_string.size();) {
            const std::size_t param_end = std::min(connection_string.find('&', param),
                                                   connection_string.size());
            const std::string text = connection_string.substr(param, param_end - param);
            if (text.rfind("password=", 0) == 0) {
                secrets.emplace_back(param + 9, param_end);
                quoted_parts.push_back(text);
            }
            param = param_end + 1;
        }
    }
    if (secrets.empty())
        return message;

    std::string redacted = connection_string;
    for (auto s = secrets.rbegin(); s != secrets.rend(); ++s) {   /* from the end: positions hold */
        quoted_parts.push_back(connection_string.substr(s->first, s->second - s->first));
        redacted.replace(s->first, s->second - s->first, stars);
    }
    replace_all(message, connection_string, redacted);
    for (const std::string &part : quoted_parts)
        if (!part.empty())
            replace_all(message, "\"" + part + "\"", std::string("\"") + stars + "\"");
    return message;
}

Conninfo parsed(const std::string &connection_string)
{
    /* libpq reads a C string: the rest after a NUL byte would be dropped
     * unseen (a port, a password), and another server reached. */
    if (connection_string.find('\0') != std::string::npos)
        throw InvalidArgument("invalid connection string: it contains a NUL byte",
                              sqlstate_invalid_argument);
    char *message = nullptr;
    Conninfo options(PQconninfoParse(connection_string.c_str(), &message), &PQconninfoFree);
    if (!options) {
        std::string reason = message ? message : "out of memory";
        PQfreemem(message);
        while (!reason.empty() && reason.back() == '\n')
            reason.pop_back();
        throw InvalidArgument("invalid connection string: " + without_password(reason, connection_string),
                              sqlstate_invalid_argument);
    }
    return options;
}

/* The connect timeout the string or the environment sets, if either does. */
const char *own_connect_timeout(const Conninfo &options)
{
    for (const PQconninfoOption *o = options.get(); o->keyword; ++o)
        if (o->val && std::strcmp(o->keyword, "connect_timeout") == 0)
            return o->val;
    return std::getenv("PGCONNECT_TIMEOUT");
}

/*
 * value as libpq 12 and later read an integer connection option: an int
 * in decimal, blanks around it allowed.  Anything else libpq refuses when
 * it connects ("invalid integer value"), so it is refused here, before,
 * with the same words.
 */
int libpq_integer(const char *value, const char *option, const std::string &where)
{
    errno = 0;
    char *end = nullptr;
    const long number = std::strtol(value, &end, 10);
    bool valid = end != value && errno == 0 && number >= std::numeric_limits<int>::min() &&
                 number <= std::numeric_limits<int>::max();
    while (valid && *end != '\0' && std::isspace(static_cast<unsigned char>(*end)))
        ++end;
    if (!valid || *end != '\0')
        throw InvalidArgument(where + ": invalid integer value \"" +
                                  std::string(value) + "\" for connection option \"" + option +
                                  "\"",
                              sqlstate_invalid_argument);
    return static_cast<int>(number);
}

} // namespace

std::chrono::seconds connect_timeout_in_effect(const std::string &connection_string,
                                               const ClientOptions &options)
{
    /* It goes into the connection string, which libpq reads as an int. */
    if (options.connect_timeout.count() > std::numeric_limits<int>::max())
        throw InvalidArgument("connect_timeout must be at most " +
                                  std::to_string(std::numeric_limits<int>::max()) + " seconds",
                              sqlstate_invalid_argument);
    const Conninfo conninfo = parsed(connection_string);
    const char *own = own_connect_timeout(conninfo);   /* points into conninfo */
    if (own == nullptr)
        return options.connect_timeout.count() <= 0
                   ? std::chrono::seconds(0)
                   : std::max(options.connect_timeout, std::chrono::seconds(2));
    /* As libpq reads it: 0 or less is no limit, and it waits at least 2 s. */
    const bool from_environment = own == std::getenv("PGCONNECT_TIMEOUT");
    const int seconds = libpq_integer(
        own, "connect_timeout", from_environment ? "PGCONNECT_TIMEOUT" : "invalid connection string");
    return seconds <= 0 ? std::chrono::seconds(0) : std::chrono::seconds(std::max(seconds, 2));
}

std::string connection_string_with_timeout(const std::string &connection_string,
                                           long long connect_timeout_seconds)
{
    const Conninfo options = parsed(connection_string);
    std::string result;
    for (const PQconninfoOption *o = options.get(); o->keyword; ++o) {
        if (o->val)
            result += (result.empty() ? "" : " ") + std::string(o->keyword) + "=" + quoted_value(o->val);
    }
    if (own_connect_timeout(options) == nullptr && connect_timeout_seconds > 0) {
        /* libpq waits at least 2 seconds whatever it is told. */
        result += (result.empty() ? "" : " ") + std::string("connect_timeout=") +
                  std::to_string(connect_timeout_seconds);
    }
    return result;
}

std::string KeptConnection::libpq_message() const
{
    const PGconn *conn = policy_.current();
    std::string text = conn ? PQerrorMessage(conn) : "";
    while (!text.empty() && text.back() == '\n')
        text.pop_back();
    return text;
}

ConnectionLost setup_cancelled(const std::string &server_text)
{
    return ConnectionLost("the server did not answer within the statement timeout while the "
                          "connection was being prepared: " + one_line(server_text),
                          sqlstate_cannot_connect, server_text);
}

ServerError extension_not_installed()
{
    return ServerError("the url_shortener extension is not installed in this database", "42704",
                       ClientReport({}, "Run \"CREATE EXTENSION url_shortener\" in the database "
                                        "the client connects to."));
}

bool version_at_least(const std::string &version, int major, int minor)
{
    int has_major = 0, has_minor = 0;
    if (std::sscanf(version.c_str(), "%d.%d", &has_major, &has_minor) < 1)
        return false;
    return has_major > major || (has_major == major && has_minor >= minor);
}

ServerConnection::ServerConnection(std::string connection_string,
                                   std::chrono::seconds connect_timeout,
                                   std::chrono::milliseconds statement_timeout, bool defer)
    : connection_string_(connection_string_with_timeout(connection_string, connect_timeout.count())),
      statement_timeout_(statement_timeout)
{
    ClientOptions limits;
    limits.connect_timeout = connect_timeout;
    setup_limit_ = connect_timeout_in_effect(connection_string, limits);
    if (!defer)
        connect();
}

ServerConnection::~ServerConnection()
{
    watch_socket(-1);
}

/*
 * Makes interrupt() act on socket (a duplicate of it), or on nothing (-1).
 * An interrupt() that came while no socket was watched (a new connection
 * being opened) shuts the new one down at once: nothing the call sends on
 * it can then wait.
 */
void ServerConnection::watch_socket(int socket) noexcept
{
    const int duplicate = socket < 0 ? -1 : fcntl(socket, F_DUPFD_CLOEXEC, 0);
    std::lock_guard<std::mutex> lock(socket_mutex_);
    if (interrupt_socket_ >= 0)
        close(interrupt_socket_);
    interrupt_socket_ = duplicate;
    if (interrupt_socket_ >= 0 && interrupted_.load())
        shutdown(interrupt_socket_, SHUT_RDWR);
}

void ServerConnection::begin_call() noexcept
{
    std::lock_guard<std::mutex> lock(socket_mutex_);
    in_call_ = true;
    interrupted_.store(false);
    budget_ = CallBudget{};
}

void ServerConnection::end_call() noexcept
{
    bool was_interrupted = false;
    {
        std::lock_guard<std::mutex> lock(socket_mutex_);
        in_call_ = false;
        was_interrupted = interrupted_.exchange(false);
    }
    /*
     * The interrupt shut the socket down, perhaps after the call's last
     * exchange (the call then returned what it got): the connection is of
     * no more use.  Dropped here, the next call opens a new one without
     * spending its one reconnect on it (on_retry still hears of it): the
     * caller ended this one, and the call may yet need its reconnect for a
     * connection the server loses.
     */
    if (was_interrupted) {
        watch_socket(-1);
        connection_.reset();
        dropped_by_interrupt_ = true;
    }
}

void ServerConnection::interrupt() noexcept
{
    {
        std::lock_guard<std::mutex> lock(socket_mutex_);
        /* Between calls there is nothing to end, and shutting the idle
         * socket down would only cost the next call its one reconnect. */
        if (!in_call_)
            return;
        interrupted_.store(true);
        if (interrupt_socket_ >= 0)
            shutdown(interrupt_socket_, SHUT_RDWR);
    }
    interrupt_signal_.notify_all();
}

void ServerConnection::pause(std::chrono::milliseconds delay)
{
    std::unique_lock<std::mutex> lock(socket_mutex_);
    interrupt_signal_.wait_for(lock, delay, [this] { return interrupted_.load(); });
}

void ServerConnection::connect()
{
    /* connection_ is set only once the new connection is ready for calls. */
    watch_socket(-1);
    connection_.reset();
    std::unique_ptr<KeptConnection> opened;
    try {
        opened = std::make_unique<KeptConnection>(connection_string_);
    } catch (const pqxx::broken_connection &e) {
        throw ConnectionLost("could not connect to the server: " + one_line(e.what()),
                             sqlstate_cannot_connect, e.what());
    }
    /*
     * libpqxx 6 reopens a broken connection by itself on its next use
     * (connection_base::activate), ROLLBACK of the broken transaction
     * included: that closed the broken handle, and libpq's report of the
     * loss with it, before the failure was read; and a reopen would escape
     * the connect timeout, interrupt() and the reconnect budget.  This
     * library reconnects only in ServerConnection, so libpqxx may not.
     */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    opened->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    watch_socket(opened->sock());
    try {
        /* Within the connect timeout (setup_deadline.h): a server that
         * authenticated the connection and then went silent would
         * otherwise hold the call forever, also where nobody calls
         * interrupt() (the constructor, the CLI). */
        within_setup_deadline(opened->sock(), setup_limit_, [&] { prepare_statements(*opened); });
    } catch (...) {
        watch_socket(-1);   /* the duplicate would keep the failed connection open */
        throw;
    }
    connection_ = std::move(opened);
    ever_opened_ = true;
}

/*
 * Sets the session's statement timeout, finds the extension's schema and
 * prepares now rather than on first use: a missing extension shows up here,
 * and a later failure of a statement is never a failed PREPARE mistaken for
 * a statement of unknown outcome.
 */
void ServerConnection::prepare_statements(pqxx::connection_base &opened)
{
    try {
        std::string schema, schema_name;
        versioned_prepared_.clear();
        {
            pqxx::nontransaction lookup(opened, "url_shortener schema lookup");
            if (statement_timeout_.count() > 0)
                lookup.exec_params("SELECT pg_catalog.set_config('statement_timeout', $1, false)",
                                   std::to_string(statement_timeout_.count()));
            const pqxx::result rows = lookup.exec(statements::extension_schema);
            if (rows.empty())
                throw extension_not_installed();
            schema_name = rows[0][0].as<std::string>();
            schema = opened.quote_name(schema_name);
            extension_version_ = rows[0][1].as<std::string>();
        }
        for (const statements::Statement &s : statements::all) {
            opened.prepare(s.name, s.sql(schema));
            opened.prepare_now(s.name);
        }
        if (has_lifecycle())
            for (const statements::Statement &s : statements::lifecycle) {
                opened.prepare(s.name, s.sql(schema));
                opened.prepare_now(s.name);
            }
        if (has_idempotency_keys())
            for (const statements::Statement &s : statements::keyed) {
                opened.prepare(s.name, s.sql(schema));
                opened.prepare_now(s.name);
            }
        if (version_at_least(extension_version_, 1, 5)) {
            pqxx::nontransaction lookup(opened, "url_shortener privileges lookup");
            const pqxx::row may = lookup.exec_params1(statements::versioned_privileges, schema_name);
            lookup.commit();
            for (std::size_t i = 0; i < std::size(statements::versioned); ++i) {
                if (!may[static_cast<pqxx::row::size_type>(i)].as<bool>())
                    continue;
                const statements::Statement &s = statements::versioned[i];
                opened.prepare(s.name, s.sql(schema));
                opened.prepare_now(s.name);
                versioned_prepared_.emplace_back(s.name);
            }
        }
    } catch (const pqxx::sql_error &e) {
        if (sqlstate_of(e) == "57014")
            throw setup_cancelled(e.what());
        std::rethrow_exception(error_for_sqlstate(sqlstate_of(e), e.what(), setup_arguments));
    } catch (const pqxx::failure &e) {
        throw ConnectionLost("lost the connection while preparing statements: " +
                                 one_line(e.what()),
                             sqlstate_connection_lost, e.what());
    }
}

bool ServerConnection::prepared_versioned(const char *name) const
{
    return std::find(versioned_prepared_.begin(), versioned_prepared_.end(), name) !=
           versioned_prepared_.end();
}

void ServerConnection::forget_versioned(const char *name)
{
    versioned_prepared_.erase(
        std::remove(versioned_prepared_.begin(), versioned_prepared_.end(), name),
        versioned_prepared_.end());
}

bool ServerConnection::is_open() const noexcept
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

std::optional<std::string> ServerConnection::installed_version()
{
    pqxx::nontransaction lookup(*connection_, "url_shortener version lookup");
    const pqxx::result rows = lookup.exec(statements::extension_schema);
    if (rows.empty())
        return std::nullopt;
    return rows[0][1].as<std::string>();
}

void ServerConnection::reconnect()
{
    connect();
}

void ServerConnection::ensure_open(const std::function<void(const RetryEvent &)> &on_retry)
{
    if (is_open())
        return;
    /* Nothing of the call has been sent: an interrupt ends it without connecting. */
    const auto end_if_interrupted = [this] {
        if (interrupted_.load())
            throw interrupted_before_sending();
    };
    end_if_interrupted();
    /* Replacing a connection an interrupt ended (end_call) is not the call's reconnect. */
    const bool spends_reconnect = ever_opened_ && !dropped_by_interrupt_;
    dropped_by_interrupt_ = false;
    if (spends_reconnect && budget_.reconnected)
        throw ConnectionLost("connection to the server was lost again after reconnecting; "
                             "nothing was stored",
                             sqlstate_connection_lost);
    budget_.reconnected = budget_.reconnected || spends_reconnect;
    if (ever_opened_ && on_retry)
        on_retry(RetryEvent{RetryCause::connection_lost, 0, std::chrono::milliseconds(0)});
    end_if_interrupted();
    connect();
}

ConnectionLost interrupted_before_sending()
{
    return ConnectionLost("the call was interrupted before it was sent; nothing was stored",
                          sqlstate_connection_lost);
}

bool client_encoding_is_utf8(const pqxx::connection_base &connection) noexcept
{
    try {
        return connection.is_open() && connection.get_client_encoding() == "UTF8";
    } catch (...) {
        return false;
    }
}

} // namespace url_shortener
