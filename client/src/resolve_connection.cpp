/*
 * resolve_connection.cpp
 *    ResolveConnection: resolve_url through libpq's asynchronous calls
 *    (PQsendQueryPrepared, PQconsumeInput, PQisBusy, PQgetResult) on a
 *    non-blocking connection in pipeline mode: a batch is its statements
 *    and one Sync, so the server runs them in one implicit transaction and
 *    commits (or rolls back) them together at the Sync.  libpqxx 6.4 has no asynchronous statements,
 *    so this one statement goes through libpq itself; connecting, the schema
 *    lookup and the error types are the Client's (server_connection.h,
 *    failure_classification.h, statements.h), and so is the time limit on
 *    the setup statements (setup_deadline.h).
 */
#include "url_shortener/resolve_connection.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "failure_classification.h"
#include "server_connection.h"
#include "setup_deadline.h"
#include "statement_values.h"
#include "statements.h"

namespace url_shortener {

struct ResolveConnection::Handle {
    PGconn *conn = nullptr;
    /* A duplicate of libpq's socket for the caller to wait on: libpq closes
     * its own at end-of-file, and the number could then be reused by the
     * next socket opened; this one stays open until the destructor. */
    int watched = -1;
    bool broken = false;   /* lost; closed by the destructor */
    /* The batch in flight: its answers so far (one per statement whose
     * result came), and the first refusal, kept until the Sync is read. */
    std::size_t sent = 0;
    std::vector<std::optional<std::string>> urls;
    /* Positions (in the caller's batch, ascending) of codes no link can
     * have (impossible_code): answered std::nullopt here, never sent. */
    std::vector<std::size_t> impossible;
    std::exception_ptr error;

    ~Handle()
    {
        if (conn)
            PQfinish(conn);
        if (watched >= 0)
            ::close(watched);
    }

    /* libpq's last error, one line, and as the server report it came from. */
    std::string message() const { return conn ? PQerrorMessage(conn) : ""; }
};

namespace {

/* A PGresult freed when it goes out of scope. */
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

/* The result of a statement run while connecting (taken over from libpq);
 * throws the Client's error for a refusal or a lost connection. */
Result checked(PGconn *conn, PGresult *raw)
{
    Result result(raw, &PQclear);
    const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
        return result;
    if (PQstatus(conn) != CONNECTION_OK || !result) {
        const std::string text = PQerrorMessage(conn);
        throw ConnectionLost("lost the connection while preparing statements: " + one_line(text),
                             sqlstate_connection_lost, text);
    }
    const char *sqlstate = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
    if (sqlstate && std::strcmp(sqlstate, "57014") == 0)
        throw setup_cancelled(PQresultErrorMessage(result.get()));
    std::rethrow_exception(
        error_for_sqlstate(sqlstate ? sqlstate : "", PQresultErrorMessage(result.get()),
                           setup_arguments));
}

/* Whether a statement's error means the connection is gone (or going:
 * the server sends 57P01 and the like just before it closes).  A class 08
 * error the server reports on a connection that stays up is its report,
 * not a loss: Citus relays a failed connection to a worker as 08006. */
bool ends_connection(PGconn *conn, const char *sqlstate)
{
    if (PQstatus(conn) != CONNECTION_OK || !sqlstate || !*sqlstate)
        return true;
    return std::string(sqlstate).compare(0, 4, "57P0") == 0;
}

} // namespace

ResolveConnection::ResolveConnection(const std::string &connection_string,
                                     const ClientOptions &options)
    : handle_(std::make_unique<Handle>())
{
    /* Refuses a connect_timeout libpq would refuse only when connecting
     * (InvalidArgument), before anything is opened. */
    const std::chrono::seconds setup_limit = connect_timeout_in_effect(connection_string, options);
    const std::string conninfo =
        connection_string_with_timeout(connection_string, options.connect_timeout.count());
    handle_->conn = PQconnectdb(conninfo.c_str());
    if (!handle_->conn)
        throw ConnectionLost("could not connect to the server: out of memory",
                             sqlstate_cannot_connect);
    if (PQstatus(handle_->conn) != CONNECTION_OK) {
        const std::string text = handle_->message();
        throw ConnectionLost("could not connect to the server: " + one_line(text),
                             sqlstate_cannot_connect, text);
    }

    /* The setup statements, within the connect timeout (setup_deadline.h):
     * a server that authenticated the connection and then went silent
     * would otherwise hold this thread forever. */
    within_setup_deadline(
        PQsocket(handle_->conn), setup_limit, [&] {
            if (options.statement_timeout.count() > 0) {
                const std::string timeout = std::to_string(options.statement_timeout.count());
                const char *value = timeout.c_str();
                checked(handle_->conn,
                        PQexecParams(handle_->conn,
                                     "SELECT pg_catalog.set_config('statement_timeout', $1, false)",
                                     1, nullptr, &value, nullptr, nullptr, 0));
            }
            const Result rows =
                checked(handle_->conn, PQexec(handle_->conn, statements::extension_schema));
            if (PQntuples(rows.get()) == 0)
                throw extension_not_installed();
            const char *name = PQgetvalue(rows.get(), 0, 0);
            std::unique_ptr<char, decltype(&PQfreemem)> quoted(
                PQescapeIdentifier(handle_->conn, name, std::char_traits<char>::length(name)),
                &PQfreemem);
            if (!quoted)
                throw ConnectionLost("could not quote the extension's schema: " +
                                         one_line(handle_->message()),
                                     sqlstate_connection_lost, handle_->message());
            const std::string sql = statements::resolve.sql(quoted.get());
            checked(handle_->conn,
                    PQprepare(handle_->conn, statements::resolve.name, sql.c_str(), 1, nullptr));
        });
    handle_->watched = ::fcntl(PQsocket(handle_->conn), F_DUPFD_CLOEXEC, 0);
    if (handle_->watched < 0)
        throw ConnectionLost(std::string("could not duplicate the connection's socket: ") +
                                 std::strerror(errno),
                             sqlstate_connection_lost);
    if (PQsetnonblocking(handle_->conn, 1) != 0)
        throw ConnectionLost("could not make the connection non-blocking: " +
                                 one_line(handle_->message()),
                             sqlstate_connection_lost, handle_->message());
    if (PQenterPipelineMode(handle_->conn) != 1)
        throw ConnectionLost("could not enter pipeline mode: " + one_line(handle_->message()),
                             sqlstate_connection_lost, handle_->message());
}

ResolveConnection::~ResolveConnection() = default;

int ResolveConnection::socket() const
{
    return handle_->watched;
}

bool ResolveConnection::open() const
{
    return handle_->conn && !handle_->broken && PQstatus(handle_->conn) == CONNECTION_OK;
}

void ResolveConnection::send(const std::vector<std::string> &codes)
{
    /* Nothing is committed before the server reads the Sync: a connection
     * found broken on the way here (libpq flushes when its buffer fills)
     * leaves the server's transaction to be rolled back. */
    auto broken = [this] {
        const std::string text = handle_->message();
        handle_->broken = true;
        throw ConnectionLost("connection to the server was lost; nothing was done: " +
                                 one_line(text),
                             sqlstate_connection_lost, text);
    };
    /* Misuse, refused before anything changes (the batch in flight stays). */
    if (busy_)
        throw Error("ResolveConnection::send called while a batch is in flight; read() its "
                    "answer first");
    if (codes.empty())
        throw Error("ResolveConnection::send called with no code");
    if (!open())
        broken();
    /*
     * As Client::resolve: a code no link can have (a NUL byte, which libpq
     * would cut the code at, or a byte above 0x7f, which the server would
     * refuse as text, failing the whole batch) is no link, not sent.  A
     * batch of only such codes still sends its Sync, so that the answer
     * comes as every answer does, when socket() turns readable.
     */
    std::vector<std::size_t> impossible;
    for (std::size_t i = 0; i < codes.size(); ++i)
        if (impossible_code(codes[i]))
            impossible.push_back(i);
    for (const std::string &code : codes) {
        if (impossible_code(code))
            continue;
        const char *values[] = {code.c_str()};
        if (!PQsendQueryPrepared(handle_->conn, statements::resolve.name, 1, values, nullptr,
                                 nullptr, 0))
            broken();
    }
    if (PQpipelineSync(handle_->conn) != 1)
        broken();
    busy_ = true;
    handle_->sent = codes.size() - impossible.size();
    handle_->impossible = std::move(impossible);
    handle_->urls.clear();
    handle_->error = nullptr;
    flush();
}

void ResolveConnection::send(std::string_view code)
{
    send(std::vector<std::string>{std::string(code)});
}

void ResolveConnection::flush()
{
    /* -1 (a failed write) is seen by the next read as a lost connection. */
    wants_write_ = handle_->conn && PQflush(handle_->conn) == 1;
}

bool ResolveConnection::read(std::optional<std::string> &url)
{
    std::vector<std::optional<std::string>> urls;
    if (!read(urls))
        return false;
    url = urls.empty() ? std::nullopt : std::move(urls.front());
    return true;
}

bool ResolveConnection::read(std::vector<std::optional<std::string>> &urls)
{
    PGconn *conn = handle_->conn;
    const bool in_flight = busy_;
    auto lost = [&](const std::string &text) -> bool {
        busy_ = false;
        wants_write_ = false;
        handle_->broken = true;
        if (in_flight)
            throw OutcomeUnknown("connection to the server was lost after the statement was "
                                 "sent; it may or may not have taken effect",
                                 sqlstate_outcome_unknown, text);
        throw ConnectionLost("the server closed the idle connection: " + one_line(text),
                             sqlstate_connection_lost, text);
    };
    if (!conn || handle_->broken)
        return lost("the connection is closed");
    if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK)
        return lost(handle_->message());
    if (!in_flight)
        return false;   /* a notice, or a parameter report: nothing to answer */
    if (wants_write_)
        flush();

    /* Each statement ends in one result (its row, its refusal, or
     * PIPELINE_ABORTED after an earlier refusal) and a NULL; the batch in
     * PIPELINE_SYNC, once the server committed or rolled back.  Two NULLs
     * in a row mean libpq is idle with nothing queued: some libpq 15
     * releases drop the Sync's result after an error at commit (a deferred
     * constraint), and this loop would otherwise spin. */
    int nulls = 0;
    while (!PQisBusy(conn)) {
        Result result(PQgetResult(conn), &PQclear);
        if (!result) {
            if (++nulls < 2)
                continue;   /* between two statements' results */
            busy_ = false;
            if (handle_->error)
                std::rethrow_exception(std::exchange(handle_->error, nullptr));
            return lost("libpq went idle before the batch's end");
        }
        nulls = 0;
        const ExecStatusType status = PQresultStatus(result.get());
        if (status == PGRES_PIPELINE_SYNC) {
            busy_ = false;
            if (handle_->error)
                std::rethrow_exception(std::exchange(handle_->error, nullptr));
            if (handle_->urls.size() != handle_->sent)
                return lost("the server answered a batch of " + std::to_string(handle_->sent) +
                            " statements with " + std::to_string(handle_->urls.size()) +
                            " results");
            urls = std::move(handle_->urls);
            for (const std::size_t position : handle_->impossible)
                urls.insert(urls.begin() + static_cast<std::ptrdiff_t>(position), std::nullopt);
            return true;
        }
        if (status == PGRES_TUPLES_OK) {
            std::optional<std::string> &url = handle_->urls.emplace_back();
            if (PQntuples(result.get()) == 1 && !PQgetisnull(result.get(), 0, 0))
                url.emplace(PQgetvalue(result.get(), 0, 0),
                            static_cast<std::size_t>(PQgetlength(result.get(), 0, 0)));
            continue;
        }
        if (status == PGRES_PIPELINE_ABORTED)
            continue;   /* not run: an earlier statement of the batch was refused */
        const char *sqlstate = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
        const std::string text = PQresultErrorMessage(result.get());
        if (ends_connection(conn, sqlstate))
            return lost(text.empty() ? handle_->message() : text);
        if (!handle_->error)
            handle_->error = error_for_sqlstate(sqlstate, text);
    }
    return false;
}

} // namespace url_shortener
