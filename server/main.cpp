/*
 * main.cpp
 *    url-shortener-server: the command line, and starting the pieces: the
 *    API's connection pool, the worker threads that run its database calls,
 *    the redirects' connections, the router and the HTTP server on one I/O
 *    thread.  Exits 0 after a graceful stop (SIGTERM, SIGINT), 2 for a
 *    usage or configuration error (as the CLI does), 1 if it cannot start
 *    otherwise (the port taken, a host name that does not resolve).
 */
#include <arpa/inet.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdio>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/url/parse.hpp>

#include "api_keys.h"
#include "call_deadline.h"
#include "connection_pool.h"
#include "descriptor_budget.h"
#include "http_server.h"
#include "longest_stop.h"
#include "metrics.h"
#include "problem.h"
#include "qr_code.h"
#include "router.h"
#include "server_options.h"

namespace net = boost::asio;
using namespace url_shortener::server;

namespace {

/* Usage and configuration errors exit 2, as the CLI's do; a server that
 * was configured right and still cannot start (the port taken, a name
 * that does not resolve) exits 1. */
constexpr int exit_cannot_start = 1;
constexpr int exit_usage = 2;

/*
 * Splits HOST:PORT into options: HOST an IPv4 address or a name, or an
 * IPv6 address in brackets ([::1]:8080; only an IPv6 address: brackets
 * around anything else would hide a typo), PORT 0 to 65535 in digits
 * alone (stoul would also take "+80" and " 80").  An IPv4 address in a
 * shorthand form ("0", "127.1", "0x7f.1") is refused: the resolver would
 * take it, and "0" listens on every interface, so a typo would expose
 * the API.  Throws CLI::ValidationError naming the text as typed.
 */
void parse_listen(const std::string &listen, ServerOptions &options)
{
    auto refuse = [&listen](const std::string &why) {
        return CLI::ValidationError("--listen", "\"" + listen + "\": " + why);
    };
    const std::size_t colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0)
        throw refuse("expected HOST:PORT, such as 127.0.0.1:8080 or [::1]:8080");
    std::string host = listen.substr(0, colon);
    const std::string port = listen.substr(colon + 1);
    boost::system::error_code ec;
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']')
            throw refuse("expected [IPv6]:PORT, such as [::1]:8080");
        host = host.substr(1, host.size() - 2);
        net::ip::make_address_v6(host, ec);
        if (ec)
            throw refuse("brackets are for an IPv6 address, and \"" + host + "\" is none");
    } else if (host.find(':') != std::string::npos) {
        throw refuse("write an IPv6 address in brackets, such as [::1]:8080");
    } else if (host.find_first_of("[]") != std::string::npos) {
        throw refuse("expected HOST:PORT, such as 127.0.0.1:8080 or [::1]:8080");
    } else {
        net::ip::make_address_v4(host, ec);
        in_addr shorthand{};
        if (ec && inet_aton(host.c_str(), &shorthand) != 0)
            throw refuse("\"" + host + "\" is a shorthand IPv4 address; write it in full "
                         "(such as 127.0.0.1 or 0.0.0.0)");
    }
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535)
        throw refuse("the port must be digits, a number from 0 to 65535");
    options.listen_host = host;
    options.listen_port = static_cast<unsigned short>(std::stoul(port));
}

/*
 * Checks --base-url and returns it without trailing slashes (a short URL
 * is it, "/" and the code).  It must be able to prefix one: an absolute
 * http or https URL with a host, and no userinfo (a short URL with a
 * password in it), query or fragment (the code would land in them), and
 * a port, if any, from 1 to 65535; short enough that a short URL with a
 * 64-character code fits a QR code.  Checked as given: "http://" less its
 * slashes is "http:", which parses.  Throws CLI::ValidationError.
 */
std::string checked_base_url(const std::string &given)
{
    auto refuse = [&given](const std::string &why) {
        return CLI::ValidationError("--base-url", "\"" + given + "\": " + why);
    };
    /* parse_uri, not parse_absolute_uri: a fragment is then refused as one. */
    const auto url = boost::urls::parse_uri(given);
    if (!url || (url->scheme_id() != boost::urls::scheme::http &&
                 url->scheme_id() != boost::urls::scheme::https))
        throw refuse("expected an absolute http(s) URL, such as https://sho.rt");
    if (!url->has_authority() || url->encoded_host().empty())
        throw refuse("the URL has no host");
    if (url->has_userinfo())
        throw refuse("the URL must not hold a user name or password");
    if (url->has_query() || url->has_fragment())
        throw refuse("the URL must not have a query (?) or a fragment (#)");
    if (url->has_port()) {
        const std::string port = url->port();
        if (port.empty() || port.size() > 5 || std::stoul(port) == 0 || std::stoul(port) > 65535)
            throw refuse("the port must be a number from 1 to 65535");
    }
    std::string base_url = given;
    while (!base_url.empty() && base_url.back() == '/')
        base_url.pop_back();
    /* The QR routes draw the short URL: with the longest code (64) it must fit. */
    constexpr std::size_t longest_code = 64;
    if (base_url.size() + 1 + longest_code > qr_max_bytes)
        throw refuse("a short URL of it with a code of " + std::to_string(longest_code) +
                     " characters would not fit a QR code (" + std::to_string(qr_max_bytes) +
                     " bytes): at most " + std::to_string(qr_max_bytes - 1 - longest_code) +
                     " characters");
    return base_url;
}

/* Like libpq's check of ~/.pgpass: the keys open the API to whoever
 * reads them, so a file others can read is worth a line (not a refusal:
 * a group may be meant to, as systemd's credentials can be). */
void warn_if_others_can_read(const std::string &path)
{
    struct stat status{};
    if (::stat(path.c_str(), &status) != 0 || (status.st_mode & (S_IRGRP | S_IROTH)) == 0)
        return;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(status.st_mode & 07777));
    std::cerr << "url-shortener-server: warning: the API key file \"" << path
              << "\" can be read by group or others (mode " << mode
              << "); chmod 600 it" << std::endl;
}

/*
 * SIGHUP: reads the API key file again, so that keys can be added and
 * revoked without a restart.  A file that cannot be read or holds no key
 * leaves the keys in use as they are (a half-written file must not lock
 * every client out); one line on stderr says which happened.
 */
void reload_api_keys(const std::string &path, Router &router)
{
    if (path.empty()) {
        std::cerr << "url-shortener-server: SIGHUP: no --api-key-file to read again; ignored"
                  << std::endl;
        return;
    }
    try {
        ApiKeys keys = ApiKeys::from_file(path);
        const std::size_t count = keys.size();
        router.replace_keys(std::move(keys));
        std::cerr << "url-shortener-server: SIGHUP: read " << count
                  << (count == 1 ? " API key" : " API keys") << " from \"" << path << "\""
                  << std::endl;
        warn_if_others_can_read(path);
    } catch (const std::exception &e) {
        std::cerr << "url-shortener-server: SIGHUP: kept the API keys in use: " << e.what()
                  << std::endl;
    }
}

/*
 * Where to listen: host as an IP address, or else every address a host
 * name resolves to, once each, in getaddrinfo's order (the first bound is
 * the one the output names): "localhost" is often both 127.0.0.1 and ::1,
 * and a client may try either.  Without AI_ADDRCONFIG, which glibc
 * applies ignoring loopback addresses, so that it would drop localhost's
 * ::1 on a machine whose only IPv6 address is ::1; an address the machine
 * lacks is left out when binding instead.  Throws std::runtime_error
 * naming listen (the option as typed) and host if it is neither.
 */
std::vector<net::ip::tcp::endpoint> listen_endpoints(net::io_context &io, const std::string &listen,
                                                     const std::string &host, unsigned short port)
{
    boost::system::error_code ec;
    const net::ip::address address = net::ip::make_address(host, ec);
    if (!ec)
        return {{address, port}};
    /* (A shorthand IPv4 address was refused by parse_listen.) */
    net::ip::tcp::resolver resolver(io);
    const auto results = resolver.resolve(host, std::to_string(port),
                                          net::ip::tcp::resolver::numeric_service, ec);
    if (ec || results.empty())
        throw std::runtime_error("--listen \"" + listen + "\": \"" + host +
                                 "\" is neither an IP address nor a host name that resolves (" +
                                 (ec ? ec.message() : std::string("no address")) + ")");
    /* The resolver gives an address once per socket type and may repeat
     * one (a hosts file naming it twice): one acceptor each would collide. */
    std::vector<net::ip::tcp::endpoint> endpoints;
    for (const auto &result : results)
        if (std::find(endpoints.begin(), endpoints.end(), result.endpoint()) == endpoints.end())
            endpoints.push_back(result.endpoint());
    return endpoints;
}

/* "http://HOST:PORT" of a bound endpoint, brackets around IPv6. */
std::string url_of(const net::ip::tcp::endpoint &endpoint)
{
    const std::string host = endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]"
                                                        : endpoint.address().to_string();
    return "http://" + host + ":" + std::to_string(endpoint.port());
}

} // namespace

int main(int argc, char **argv)
{
    /* Sockets send with MSG_NOSIGNAL; this is for stdout and stderr.  A
     * log reader that went away (a pipe to "head -1", a dead logger) must
     * not end the service at its next line: the write fails, the stream
     * stops writing, and the requests, and a stop's exit 0, go on. */
    std::signal(SIGPIPE, SIG_IGN);
    ServerOptions options;
    std::string listen = "127.0.0.1:8080";
    long long pool_wait_ms = options.pool_wait.count();
    long long statement_timeout_ms = options.statement_timeout.count();
    long long idle_timeout_ms = options.idle_timeout.count();
    long long stop_timeout_ms = options.stop_timeout.count();
    std::chrono::seconds connect_timeout{0};   /* as libpq will apply it (from --dsn) */

    CLI::App app{"url-shortener-server: the url_shortener redirect service and REST API"};
    app.add_option("--dsn", options.dsn,
                   "libpq connection string or URI (default: PGHOST, PGDATABASE, ... from the environment)");
    app.add_option("--listen", listen,
                   "HOST:PORT to listen on; HOST an IP address or a name (every address it "
                   "resolves to, on one port; one this machine lacks is left out, as long "
                   "as one binds); port 0: any free port")
        ->capture_default_str();
    app.add_option("--base-url", options.base_url,
                   "prefix of the short URLs returned (default: http:// + the listen address)");
    app.add_option("--pool-size", options.pool_size,
                   "database connections for redirects, and as many again for the API "
                   "(twice as many threads run the API's database calls)")
        ->capture_default_str()->check(CLI::Range(1, 1000));
    app.add_option("--redirect-pool-size", options.redirect_pool_size,
                   "database connections for redirects (default: --pool-size)")
        ->check(CLI::Range(1, 1000));
    app.add_option("--redirect-batch", options.redirect_batch,
                   "most redirects resolved in one transaction: those that arrive "
                   "together, or wait while every redirect connection is busy "
                   "(1: each in its own)")
        ->capture_default_str()->check(CLI::Range(1, 1000));
    app.add_option("--statement-timeout-ms", statement_timeout_ms,
                   "statement_timeout of every database connection; a batch of n redirects "
                   "not answered within n times it and a margin (a tenth, at least 1 s) is "
                   "given up as 502, an API call after 4 times it and the margin (a batch: "
                   "2 and its chunks of 5,000 URLs; afresh from each retry), as 502 or, if "
                   "nothing that may have been done was sent, 503")
        ->capture_default_str()->check(CLI::Range(1, 3600000));
    app.add_option("--pool-wait-ms", pool_wait_ms,
                   "longest a request waits for a database connection before 503")
        ->capture_default_str()->check(CLI::Range(1, 600000));
    app.add_option("--api-key-file", options.api_key_file,
                   "file of API keys, one a line; without it the API is refused")
        ->check(CLI::ExistingFile);
    app.add_option("--redirect-status", options.redirect_status, "status of redirects")
        ->capture_default_str()->check(CLI::IsMember({301, 302, 307, 308}));
    app.add_option("--max-body-bytes", options.max_body_bytes,
                   "largest request body accepted where one is read (creating and editing "
                   "links); larger gets 413.  Other requests (GET, HEAD, DELETE, /disable, "
                   "/enable) may carry at most " +
                       std::to_string(bodyless_max_body_bytes) +
                       " bytes (or this, if lower), which they ignore")
        ->capture_default_str()->check(CLI::Range(1, 64 * 1024 * 1024));
    app.add_option("--idle-timeout-ms", idle_timeout_ms,
                   "a connection that does not complete a request's header within this "
                   "(counted from the previous answer, or the accept; empty lines before a "
                   "request do not extend it) is closed.  A request's body must then arrive "
                   "within 30 s, and an answer be read within 30 s, else the connection is "
                   "closed without an answer")
        ->capture_default_str()->check(CLI::Range(100, 3600000));
    app.add_option("--stop-timeout-ms", stop_timeout_ms,
                   "after SIGTERM or SIGINT, how long requests in flight may go on: then "
                   "every database call still waiting is ended as at its own deadline (502, "
                   "or 503 if nothing that may have been done was sent), a connection still "
                   "reading a request or writing an answer is closed, and the server exits "
                   "0 once the answers are written (the longest stop is printed at start)")
        ->capture_default_str()->check(CLI::Range(0, 3600000));
    try {
        app.parse(argc, argv);
        parse_listen(listen, options);
        /* A connection string libpq cannot read is the operator's mistake:
         * said now, rather than as every request's 400 (22023) later. */
        try {
            connect_timeout = url_shortener::connect_timeout_in_effect(options.dsn);
        } catch (const url_shortener::InvalidArgument &e) {
            throw CLI::ValidationError("--dsn", e.what());
        }
        if (app.count("--base-url") > 0)
            options.base_url = checked_base_url(options.base_url);
    } catch (const CLI::ParseError &e) {
        /* --help is a "parse error" that succeeds; CLI11 prints it. */
        if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success))
            return app.exit(e);
        std::cerr << "url-shortener-server: " << e.what()
                  << " (see url-shortener-server --help)" << std::endl;
        return exit_usage;
    }
    /* A key file that cannot be read or holds no key is a configuration
     * error, as a missing one is (CLI::ExistingFile). */
    ApiKeys keys;
    if (!options.api_key_file.empty()) {
        try {
            keys = ApiKeys::from_file(options.api_key_file);
        } catch (const std::exception &e) {
            std::cerr << "url-shortener-server: --api-key-file: " << e.what() << std::endl;
            return exit_usage;
        }
        warn_if_others_can_read(options.api_key_file);
    }
    options.pool_wait = std::chrono::milliseconds(pool_wait_ms);
    options.statement_timeout = std::chrono::milliseconds(statement_timeout_ms);
    options.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
    options.stop_timeout = std::chrono::milliseconds(stop_timeout_ms);
    url_shortener::ClientOptions client_options;
    client_options.statement_timeout = options.statement_timeout;

    try {
        net::io_context io(1);
        const std::vector<net::ip::tcp::endpoint> endpoints =
            listen_endpoints(io, listen, options.listen_host, options.listen_port);
        /* The API's calls end when the database does not answer in time. */
        CallDeadlines deadlines(io.get_executor(), options.statement_timeout, connect_timeout);
        url_shortener::ClientOptions api_options = client_options;
        api_options.on_retry = CallDeadlines::on_retry;
        ConnectionPool pool(options.dsn, options.pool_size, api_options);
        /* Twice the connections: a request beyond the pool waits in acquire (bounded,
         * counted in /metrics) rather than unseen in the queue. */
        net::thread_pool workers(2 * options.pool_size);
        /* Opening a redirect connection blocks: on threads of their own, so
         * it never waits behind the API's calls. */
        net::thread_pool openers(2);
        Metrics metrics;
        LinkSettings settings;
        settings.redirect_status = static_cast<http::status>(options.redirect_status);

        const std::size_t redirect_pool_size =
            options.redirect_pool_size ? options.redirect_pool_size : options.pool_size;
        const DescriptorBudget budget =
            client_connection_limit(options.pool_size + redirect_pool_size);
        /* The default base URL needs the bound port: bind first, then route. */
        HttpServer server(io, endpoints, options.max_body_bytes, budget.clients,
                          options.idle_timeout, options.stop_timeout);
        const std::vector<net::ip::tcp::endpoint> bound = server.local_endpoints();
        settings.base_url = options.base_url.empty() ? url_of(bound.front()) : options.base_url;
        /* http://0.0.0.0:8080/abc is no address a client can follow. */
        if (options.base_url.empty() && bound.front().address().is_unspecified())
            std::cerr << "url-shortener-server: warning: the short URLs name " << settings.base_url
                      << ", which no client can reach; give --base-url the public address"
                      << std::endl;
        /* The redirects' connections, as many again. */
        RedirectConnections redirects(io, openers, options.dsn, redirect_pool_size,
                                      options.pool_wait, options.redirect_batch, client_options);
        Router router(settings, options.pool_wait, pool, redirects, workers, deadlines, metrics,
                      std::move(keys));

        /* Scripts take the URL from the one line that says "listening on"
         * (sed 's/.*listening on //p'): the other addresses are named
         * without those words. */
        std::cout << "url-shortener-server: listening on " << url_of(bound.front()) << std::endl;
        for (std::size_t i = 1; i < bound.size(); ++i)
            std::cout << "url-shortener-server: also bound to " << url_of(bound[i]) << std::endl;
        if (budget.descriptors <= budget.kept)
            std::cerr << "url-shortener-server: warning: " << budget.descriptors
                      << " open files allowed do not cover the database connections and the "
                         "server's own ("
                      << budget.kept << "): raise the limit (ulimit -n, LimitNOFILE=)"
                      << std::endl;
        std::cout << "url-shortener-server: at most " << budget.clients
                  << (budget.clients == 1 ? " client connection" : " client connections")
                  << " at once (of " << budget.descriptors
                  << " open files allowed, " << budget.kept
                  << " kept for the database and the server)" << std::endl;
        /* What a service manager's stop timeout must exceed (TimeoutStopSec=). */
        if (const auto longest = longest_stop(options, connect_timeout))
            std::cout << "url-shortener-server: a stop ends within " << longest->count()
                      << " s (requests in flight get " << options.stop_timeout.count()
                      << " ms, then what is still waiting for the database is ended)" << std::endl;
        else
            std::cout << "url-shortener-server: a stop has no bound while a database connection "
                         "is being opened (connect_timeout=0: no connect timeout); requests in "
                         "flight get "
                      << options.stop_timeout.count()
                      << " ms, then what is still waiting for the database is ended" << std::endl;
        {
            /* The pools' tasks use router, redirects and metrics: join them
             * before those are destroyed, also when run() throws. */
            struct JoinPools {
                net::thread_pool &workers, &openers;
                ~JoinPools()
                {
                    workers.join();
                    openers.join();
                }
            } join{workers, openers};
            server.start(router,
                         [&router, &options] { reload_api_keys(options.api_key_file, router); });
            /* A handler that throws ends that request's session (its
             * handler and the session it held are gone), not the
             * service: log it and go on. */
            for (;;) {
                try {
                    io.run();
                    break;
                } catch (const std::exception &e) {
                    std::cerr << "url-shortener-server: a request's handler threw, its connection "
                                 "dropped: " << e.what() << std::endl;
                }
            }
        }
        /* Every 5xx answered is a line or counted in one: the count of
         * those left out since the last line (the pools are joined, so
         * no more come). */
        write_left_out(true);
        std::cout << "url-shortener-server: stopped" << std::endl;
        return 0;
    } catch (const std::exception &e) {
        std::cerr << "url-shortener-server: " << e.what() << std::endl;
        return exit_cannot_start;
    }
}
