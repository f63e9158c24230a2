/*
 * client.cpp
 *    url_shortener::Client: the public calls, each one prepared statement
 *    (or one per chunk) run through the retry loop.
 */
#include "url_shortener/client.h"

#include <algorithm>
#include <random>
#include <utility>

#include <pqxx/result>
#include <pqxx/transaction_base>

#include "retry_loop.h"
#include "server_connection.h"
#include "statements.h"
#include "text_array.h"

namespace url_shortener {

/* What a Client owns: its connection, its options, its jitter source. */
struct Client::Session {
    Session(const std::string &connection_string, ClientOptions client_options)
        : connection(connection_string), options(std::move(client_options)),
          random(std::random_device{}())
    {
        if (options.batch_chunk_size == 0)
            options.batch_chunk_size = 1;
    }

    ServerConnection connection;
    ClientOptions options;
    std::mt19937_64 random;
};

namespace {

/*
 * libpq sends parameters as C strings, so a NUL byte would silently cut
 * the URL short; refuse it the way the server refuses bad bytes.
 */
void refuse_nul_byte(std::string_view url)
{
    if (url.find('\0') != std::string_view::npos)
        throw InvalidUrl("url contains a NUL byte", "22021");
}

/* The code in the one row and column shorten_url returns. */
std::string single_code(const pqxx::result &rows)
{
    return rows.at(0).at(0).as<std::string>();
}

} // namespace

Client::Client(const std::string &connection_string, ClientOptions options)
    : session_(std::make_unique<Session>(connection_string, std::move(options)))
{
}

Client::~Client() = default;
Client::Client(Client &&) noexcept = default;
Client &Client::operator=(Client &&) noexcept = default;

std::string Client::shorten(std::string_view url)
{
    refuse_nul_byte(url);
    const std::string argument(url);
    Session &s = *session_;
    return run_with_retries(s.connection, s.options, s.options.isolation, s.random,
                            [&](pqxx::transaction_base &t) {
                                return single_code(
                                    t.exec_prepared(statements::shorten.name, argument));
                            });
}

std::string Client::shorten_locked(std::string_view url)
{
    refuse_nul_byte(url);
    const std::string argument(url);
    Session &s = *session_;
    return run_with_retries(s.connection, s.options, s.options.isolation, s.random,
                            [&](pqxx::transaction_base &t) {
                                return single_code(
                                    t.exec_prepared(statements::shorten_locked.name, argument));
                            });
}

std::optional<std::string> Client::resolve(std::string_view code)
{
    /* No stored code holds a NUL byte, and libpq could not send one. */
    if (code.find('\0') != std::string_view::npos)
        return std::nullopt;
    const std::string argument(code);
    Session &s = *session_;
    return run_with_retries(s.connection, s.options, s.options.isolation, s.random,
                            [&](pqxx::transaction_base &t) -> std::optional<std::string> {
                                const pqxx::result rows =
                                    t.exec_prepared(statements::resolve.name, argument);
                                const pqxx::field url = rows.at(0).at(0);
                                if (url.is_null())
                                    return std::nullopt;
                                return url.as<std::string>();
                            });
}

std::vector<std::string> Client::shorten_many(const std::vector<std::string> &urls,
                                              const BatchProgress &progress)
{
    if (urls.empty())
        return {};
    for (const std::string &url : urls)
        refuse_nul_byte(url);

    Session &s = *session_;
    const std::size_t chunk = s.options.batch_chunk_size;
    const Isolation isolation = s.options.isolation == Isolation::autocommit
                                    ? Isolation::read_committed
                                    : s.options.isolation;

    return run_with_retries(
        s.connection, s.options, isolation, s.random, [&](pqxx::transaction_base &t) {
            std::vector<std::string> codes;
            codes.reserve(urls.size());
            for (std::size_t begin = 0; begin < urls.size(); begin += chunk) {
                const std::size_t end = std::min(urls.size(), begin + chunk);
                const pqxx::result rows = t.exec_prepared(
                    statements::shorten_chunk.name,
                    text_array_literal(urls.data() + begin, urls.data() + end));
                if (rows.size() != end - begin)
                    throw ServerError("the server returned " + std::to_string(rows.size()) +
                                      " codes for " + std::to_string(end - begin) + " urls");
                for (const pqxx::row &row : rows)
                    codes.push_back(row.at(0).as<std::string>());
                if (progress)
                    progress(end, urls.size());
            }
            return codes;
        });
}

} // namespace url_shortener
