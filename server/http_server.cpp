/*
 * http_server.cpp
 *    Accepting connections, the per-connection session, and graceful stop
 *    (see http_server.h).
 */
#include "http_server.h"

#include <algorithm>
#include <cctype>
#include <array>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "http_date.h"
#include "problem.h"
#include "server_options.h"

namespace url_shortener::server {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {
constexpr std::chrono::seconds transfer_timeout{30};  /* reading a body, writing an answer */
constexpr std::size_t header_limit = 16 * 1024;       /* request line and header fields */
constexpr std::size_t read_buffer_limit = 32 * 1024;  /* a header and what comes with it */
constexpr std::size_t first_read_bytes = 4096;        /* the read that ends a connection's idleness */
constexpr std::chrono::seconds stop_header_grace{5};  /* at a stop, for a header partly read */
constexpr std::chrono::seconds linger_timeout{5};     /* after the last answer, for the client to read it */
/* At a stop, a linger ends once the client has acknowledged the whole
 * answer and sent nothing for this long, counted from the stop at the
 * earliest (see linger_and_close); checked every stop_linger_check.  Longer
 * than a retransmission timeout and than the pauses of a client still
 * sending a body at a steady pace. */
constexpr std::chrono::milliseconds stop_linger_quiet{1000};
constexpr std::chrono::milliseconds stop_linger_check{50};
constexpr std::chrono::seconds last_answer_timeout{5};   /* writing an answer made after a stop's drain */

/* The HTTP-version at the end of the request line at buffer's start
 * (method SP request-target SP HTTP-version), as "HTTP/d.d", or empty. */
std::string_view request_line_version(const beast::flat_buffer &buffer)
{
    const std::string_view bytes(static_cast<const char *>(buffer.data().data()), buffer.size());
    std::string_view line = bytes.substr(0, bytes.find('\n'));
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    const std::size_t first = line.find(' ');
    const std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos)
        return {};
    const std::string_view version = line.substr(second + 1);
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && digit(version[5]) &&
        version[6] == '.' && digit(version[7]))
        return version;
    return {};
}

/* Whether a request over header_limit is so for its request line: the
 * parser took no request line (it takes it, and each field, as it comes,
 * and they leave the buffer), and the line in buffer does not end within
 * header_limit bytes.  Its request-target is then at fault (RFC 9110,
 * 15.5.15: 414), not its header fields (431). */
bool request_line_over_limit(bool parser_took_request_line, const beast::flat_buffer &buffer)
{
    if (parser_took_request_line)
        return false;
    const std::string_view bytes(static_cast<const char *>(buffer.data().data()), buffer.size());
    return bytes.substr(0, header_limit).find('\n') == std::string_view::npos;
}

/* Whether the request line at buffer's start names HTTP/2 or later (an
 * h2c preface too), which Beast's parser refuses as a bad version: 505. */
bool names_a_later_major_version(const beast::flat_buffer &buffer)
{
    const std::string_view version = request_line_version(buffer);
    return !version.empty() && version[5] >= '2';
}

/* RFC 9110 (2.5): a later minor version of HTTP/1 (HTTP/1.2 to 1.9), which
 * Beast's parser refuses, is read as HTTP/1.1, the highest this server
 * implements.  Rewrites the version in buffer and returns true if it was
 * one of them. */
bool read_later_minor_version_as_1_1(beast::flat_buffer &buffer)
{
    const std::string_view version = request_line_version(buffer);
    if (version.empty() || version[5] != '1' || version[7] < '2')
        return false;
    const std::size_t minor = static_cast<std::size_t>(version.data() + 7 -
                                                       static_cast<const char *>(buffer.data().data()));
    static_cast<char *>(buffer.data().data())[minor] = '1';
    return true;
}

/* Whether closing the socket fd, whose sending side is shut down, can
 * no longer cost the client its answer: the client's end has acknowledged
 * every byte sent and the FIN after them (FIN-WAIT-2), so the answer is in
 * its kernel, and nothing the client sent is left unread here, so closing
 * sends no RST. */
bool answer_delivered(int fd)
{
    tcp_info info{};
    socklen_t length = sizeof info;
    int unread = 0;
    return ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) == 0 &&
           info.tcpi_state == TCP_FIN_WAIT2 && ::ioctl(fd, FIONREAD, &unread) == 0 &&
           unread == 0;
}

/* Whether value is a Host field value RFC 9112 (3.2) admits: uri-host
 * [":" port], or empty.  No userinfo, and no list: a comma is a valid
 * reg-name character, but two hosts joined ("a, b" or "a,b") are what a
 * proxy makes of two Host lines, which are refused as well. */
bool valid_host(std::string_view value)
{
    if (value.empty())
        return true;
    if (value.find(',') != std::string_view::npos)
        return false;
    const auto authority = boost::urls::parse_authority(value);
    return authority && !authority->has_userinfo();
}

/* The transfer codings of a request's Transfer-Encoding lines, in order,
 * each lowercased and without parameters or surrounding whitespace (empty
 * list elements dropped, as RFC 9110 (5.6.1) says). */
std::vector<std::string> transfer_codings(const Request &header)
{
    std::vector<std::string> codings;
    const auto lines = header.equal_range(http::field::transfer_encoding);
    for (auto line = lines.first; line != lines.second; ++line) {
        const std::string_view value = line->value();
        std::size_t start = 0;
        while (start <= value.size()) {
            std::size_t end = value.find(',', start);
            if (end == std::string_view::npos)
                end = value.size();
            std::string_view element = value.substr(start, end - start);
            const std::size_t parameters = element.find(';');
            if (parameters != std::string_view::npos)
                element = element.substr(0, parameters);
            while (!element.empty() && (element.front() == ' ' || element.front() == '\t'))
                element.remove_prefix(1);
            while (!element.empty() && (element.back() == ' ' || element.back() == '\t'))
                element.remove_suffix(1);
            if (!element.empty()) {
                std::string coding(element);
                for (char &c : coding)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                codings.push_back(std::move(coding));
            }
            start = end + 1;
        }
    }
    return codings;
}

/*
 * Why a request's body cannot be framed as it says, if it cannot (RFC
 * 9112, 6.1 and 6.3).  Only "chunked" is decoded, once: a request with
 * Transfer-Encoding is read only if that is exactly "chunked", without
 * Content-Length, in HTTP/1.1.  Beast would read one whose last coding is
 * not chunked as having no body (its body then parsed as the next
 * request: request smuggling behind a proxy that frames it otherwise),
 * and one with Content-Length too as framed by that.  400 if the body's
 * length cannot be known (the last coding is not chunked, chunked twice,
 * Content-Length as well, or HTTP/1.0, which has no transfer codings);
 * 501 for a coding the server does not decode before a final chunked.
 * Either way the connection closes and no byte of the body is read as a
 * request.
 */
std::optional<Problem> unframed(const Request &header)
{
    if (header.count(http::field::transfer_encoding) == 0)
        return std::nullopt;
    const auto bad = [](std::string detail) {
        return Problem{http::status::bad_request, "malformed-request", "Malformed request",
                       std::move(detail)};
    };
    if (header.version() < 11)
        return bad("An HTTP/1.0 request cannot carry Transfer-Encoding (RFC 9112, 6.1).");
    if (header.count(http::field::content_length) > 0)
        return bad("A request carries Transfer-Encoding or Content-Length, not both (RFC 9112, "
                   "6.1).");
    const std::vector<std::string> codings = transfer_codings(header);
    if (codings.empty() || codings.back() != "chunked")
        return bad("The last transfer coding of a request must be chunked, else its body's "
                   "length cannot be known (RFC 9112, 6.3).");
    if (std::count(codings.begin(), codings.end(), "chunked") > 1)
        return bad("A body is chunked at most once (RFC 9112, 7).");
    if (codings.size() > 1)
        return Problem{http::status::not_implemented, "transfer-coding-not-implemented",
                       "Transfer coding not implemented",
                       "Only the chunked transfer coding is decoded; send the body chunked "
                       "and nothing else, or with Content-Length."};
    return std::nullopt;
}
} // namespace

/*
 * One connection: read a request, let the router answer it (the answer
 * comes back on this session's strand), write it, and read the next,
 * until either side closes, a timeout, or the server stops.
 */
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, HttpServer &server,
            std::shared_ptr<std::atomic<std::size_t>> open_connections)
        : stream_(std::move(socket)), server_(server), stop_timer_(stream_.get_executor()),
          drain_timer_(stream_.get_executor()), linger_check_(stream_.get_executor()),
          open_connections_(std::move(open_connections))
    {
        ++*open_connections_;
    }

    ~Session() { --*open_connections_; }

    void start()
    {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
    }

    /* On stop: a connection waiting for its next request, no byte of it
     * read, closes now; one with part of a request read finishes it, but
     * its header must be in within stop_header_grace (a client that sent
     * a byte and went silent cannot hold the stop for the idle timeout).
     * At drain_deadline, one still reading its request or writing an
     * answer closes; one waiting for its answer gets it (the database
     * calls end by then as well) within last_answer_timeout.  One
     * lingering after its last answer closes once the client has it
     * (linger_and_close). */
    void stop(std::chrono::steady_clock::time_point drain_deadline)
    {
        net::post(stream_.get_executor(), [self = shared_from_this(), drain_deadline] {
            /* Closed already: a timer armed now would hold io.run() until
             * the drain deadline, as nothing would cancel it. */
            if (!self->stream_.socket().is_open())
                return;
            if (self->lingering_) {
                /* Quiet since the stop, not since bytes that came before
                 * it: a client between two parts of a body it is still
                 * sending is not cut off at the first check (found in
                 * review). */
                self->peer_sent_at_ = std::max(self->peer_sent_at_, std::chrono::steady_clock::now());
                return self->check_linger();
            }
            /* Armed before the idle check: a read whose first bytes are in
             * but whose handler is queued behind this one finds the
             * session idle, yet goes on to read a request (close()
             * cancels the timer if it does not). */
            self->drain_timer_.expires_at(drain_deadline);
            self->drain_timer_.async_wait([self](beast::error_code ec) {
                if (!ec && self->on_the_wire_)
                    self->stream_.cancel();
            });
            if (self->idle_)
                return self->stream_.cancel();
            if (self->reading_header_)
                self->bound_header_by_stop();
        });
    }

private:
    /*
     * Waits (at most the idle timeout, for the whole header and any empty
     * lines before it) for the next request's header.  Until its first
     * bytes arrive the connection is idle: a stop closes it (at once here
     * if the server is stopping).  Once any byte of a request is read, a
     * stop lets the request finish (its answer says "Connection: close"),
     * within the same timeouts.
     */
    void read_header()
    {
        skip_empty_lines();
        const bool started = buffer_.size() > 0;   /* bytes that came with the last request */
        if (server_.stopping() && !started)
            return close();
        new_parser();
        stream_.expires_after(server_.idle_timeout());
        if (started)
            return read_rest_of_header();
        wait_for_request();
    }

    /* A parser for the next request, with its limits. */
    void new_parser()
    {
        parser_.emplace();
        header_before_trailer_.reset();
        parser_->header_limit(header_limit);
        body_limit_ = server_.max_body_bytes();   /* until the route says it reads no body */
        parser_->body_limit(body_limit_);
    }

    /*
     * Reads a request's first bytes, under the deadline read_header set.
     * Empty lines are dropped and leave the connection idle, but do not
     * move that deadline: else a client sending "\r\n" now and then would
     * hold its connection, and a descriptor, for ever.
     */
    void wait_for_request()
    {
        idle_ = true;
        on_the_wire_ = false;
        stream_.async_read_some(buffer_.prepare(first_read_bytes),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                    self->idle_ = false;
                                    self->buffer_.commit(n);
                                    if (ec && n == 0)
                                        return self->close();   /* closed, timed out or stopped */
                                    self->skip_empty_lines();
                                    if (self->buffer_.size() > 0)
                                        return self->read_rest_of_header();
                                    if (self->server_.stopping())
                                        return self->close();   /* its stop may have come first */
                                    self->wait_for_request();   /* only empty lines: still idle */
                                });
    }

    /* At a stop, the header being read must be in within
     * stop_header_grace, else the connection closes. */
    void bound_header_by_stop()
    {
        const unsigned long header = headers_started_;
        stop_timer_.expires_after(stop_header_grace);
        stop_timer_.async_wait([self = shared_from_this(), header](beast::error_code ec) {
            if (!ec && self->reading_header_ && self->headers_started_ == header)
                self->stream_.cancel();
        });
    }

    /* RFC 9112 (2.2): empty lines before a request line are ignored (a
     * client may send a CRLF after a request's body). */
    void skip_empty_lines()
    {
        const char *bytes = static_cast<const char *>(buffer_.data().data());
        std::size_t n = 0;
        while (n < buffer_.size() && (bytes[n] == '\r' || bytes[n] == '\n'))
            ++n;
        buffer_.consume(n);
    }

    /* Reads the rest of a header whose first bytes are in buffer_, under
     * the deadline read_header set. */
    void read_rest_of_header()
    {
        reading_header_ = true;
        on_the_wire_ = true;
        ++headers_started_;
        if (server_.stopping())   /* its first bytes may have come just before the stop */
            bound_header_by_stop();
        http::async_read_header(stream_, buffer_, *parser_,
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    self->on_header(ec);
                                });
    }

    /* The header is in: refuse a request without exactly one Host where
     * RFC 9112 (3.2) wants it; refuse, from the header alone, a request
     * whose body is to come if its route, method or API key will not do
     * (Router::screen), or if its route reads no body and its
     * Content-Length is over bodyless_max_body_bytes, so that no body is
     * read or invited for it; answer "Expect: 100-continue" (the body
     * limit was already checked against Content-Length; HTTP/1.0 has no
     * interim answers), then read the body. */
    void on_header(beast::error_code ec)
    {
        reading_header_ = false;
        stop_timer_.cancel();   /* a pending wait would hold the stop until it fired */
        if (ec)
            return on_read_error(ec);
        const Request &header = parser_->get();
        const std::size_t hosts = header.count(http::field::host);
        if (hosts > 1 || (hosts == 0 && header.version() >= 11))
            return refuse(Problem{http::status::bad_request, "malformed-request",
                                  "Malformed request",
                                  "An HTTP/1.1 request carries exactly one Host header field."});
        if (hosts == 1 && !valid_host(header[http::field::host]))
            return refuse(Problem{http::status::bad_request, "malformed-request",
                                  "Malformed request",
                                  "The Host header field must be one host, with an optional "
                                  "port (RFC 9112, 3.2)."});
        if (std::optional<Problem> framing = unframed(header))
            return refuse(*framing);
        if (!parser_->is_done()) {
            if (server_.router().screen(header, [self = shared_from_this()](Response res) {
                    self->write(std::move(res));   /* at once, on this strand; then closes */
                }))
                return;
            /* A redirect needs no key: without this, anyone could make the
             * server hold --max-body-bytes per connection for a body that
             * is thrown away.  A chunked body is refused once it passes
             * the limit (no byte of it is parsed yet, so it may change). */
            if (!server_.router().takes_body(header)) {
                body_limit_ = std::min(bodyless_max_body_bytes, body_limit_);
                if (const auto length = parser_->content_length(); length && *length > body_limit_)
                    return refuse(body_too_large());
                parser_->body_limit(body_limit_);
            }
        }
        /* Beast adds a chunked body's trailer fields to the header's; kept
         * apart, they would pass for header fields (If-Match,
         * Idempotency-Key, ...), which RFC 9110 (6.5.1) forbids.  The
         * header is kept to be put back: trailers are discarded. */
        if (parser_->chunked())
            header_before_trailer_.emplace(header.base());
        if (header.version() >= 11 &&
            boost::algorithm::iequals(header[http::field::expect], "100-continue")) {
            auto interim = std::make_shared<http::response<http::empty_body>>(
                http::status::continue_, parser_->get().version());
            stream_.expires_after(transfer_timeout);
            return http::async_write(stream_, *interim,
                                     [self = shared_from_this(), interim](beast::error_code e, std::size_t) {
                                         if (e)
                                             return self->close();
                                         self->read_body();
                                     });
        }
        read_body();
    }

    /* Reads the body, at most max_body_bytes, within transfer_timeout. */
    void read_body()
    {
        stream_.expires_after(transfer_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             self->on_body(ec);
                         });
    }

    using Pending = std::shared_ptr<net::executor_work_guard<net::any_io_executor>>;

    /* A whole request: hand it to the router; its answer is sent by send_now. */
    void on_body(beast::error_code ec)
    {
        if (ec)
            return on_read_error(ec);
        stream_.expires_never();   /* the database work has its own bound (the pool wait) */
        if (header_before_trailer_) {
            parser_->get().base() = std::move(*header_before_trailer_);
            header_before_trailer_.reset();
        }
        /* The answer comes from a worker thread; until the session is back on
         * its strand, this guard keeps io_context::run() from returning (a
         * graceful stop waits for it). */
        auto pending = std::make_shared<net::executor_work_guard<net::any_io_executor>>(
            stream_.get_executor());
        on_the_wire_ = false;   /* until the answer is back on this strand */
        server_.router().handle(parser_->release(), [self = shared_from_this(), pending](Response res) {
            self->send_now(std::move(res), pending);
        });
    }

    /*
     * Sends an answer from the thread that made it (a worker, or this strand
     * for an answer made at once) instead of posting it to this strand first:
     * that hop through the one I/O thread was most of the p99 latency at 8
     * connections (commit 0ff10ce, which measured it).  Only what the
     * socket takes at once is sent here (MSG_DONTWAIT: a client that does
     * not read cannot hold a worker); the rest, if any, and the next read
     * go to the strand.
     * Safe because while a request is answered nothing else of the session
     * touches the socket: no read is pending and its timer is off.
     */
    void send_now(Response res, Pending pending)
    {
        res.set(http::field::date, http_date_now());
        if (server_.stopping())
            res.keep_alive(false);
        const bool close_after = !res.keep_alive();
        std::ostringstream serialized;
        serialized << res;
        auto wire = std::make_shared<std::string>(std::move(serialized).str());
        std::size_t sent = 0;
        bool failed = false;
        while (sent < wire->size()) {
            const ssize_t n = ::send(stream_.socket().native_handle(), wire->data() + sent,
                                     wire->size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0)
                sent += static_cast<std::size_t>(n);
            else if (n < 0 && errno == EINTR)
                continue;
            else {
                failed = !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
                break;
            }
        }
        net::post(stream_.get_executor(), [self = shared_from_this(), pending, wire, sent, failed,
                                           close_after] {
            pending->reset();
            if (failed)
                return self->close();
            if (sent < wire->size())
                return self->write_rest(wire, sent, close_after);
            self->after_answer(close_after);
        });
    }

    /* The part of an answer the socket did not take at once, within answer_timeout(). */
    void write_rest(std::shared_ptr<std::string> wire, std::size_t sent, bool close_after)
    {
        on_the_wire_ = true;
        stream_.expires_after(answer_timeout());
        net::async_write(stream_, net::buffer(wire->data() + sent, wire->size() - sent),
                         [self = shared_from_this(), wire, close_after](beast::error_code ec,
                                                                        std::size_t) {
                             if (ec)
                                 return self->close();
                             self->after_answer(close_after);
                         });
    }

    /* After an answer: the next request, or closing (see write). */
    void after_answer(bool close_after)
    {
        if (close_after)
            return linger_and_close();
        read_header();
    }

    /* A read that failed: a request the parser refused gets an answer; a
     * connection closed, timed out or cancelled just closes. */
    void on_read_error(beast::error_code ec)
    {
        if (ec == http::error::body_limit)
            return refuse(body_too_large());
        if (ec == http::error::header_limit &&
            request_line_over_limit(!parser_->get().target().empty(), buffer_))
            return refuse(Problem{http::status::uri_too_long, "uri-too-long", "URI too long",
                                  "The request line may hold at most " +
                                      std::to_string(header_limit) + " bytes."});
        if (ec == http::error::header_limit)
            return refuse(Problem{http::status::request_header_fields_too_large,
                                  "header-too-large", "Header too large",
                                  "The request line and header may hold at most " +
                                      std::to_string(header_limit) + " bytes."});
        if (ec == http::error::bad_version && names_a_later_major_version(buffer_))
            return refuse(version_not_supported());
        /* The parser consumed nothing of a header it refused: it is all in
         * buffer_ still, to be parsed again as HTTP/1.1. */
        if (ec == http::error::bad_version && read_later_minor_version_as_1_1(buffer_)) {
            new_parser();
            return read_rest_of_header();
        }
        if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
            ec != http::error::end_of_stream && ec != http::error::partial_message)
            return refuse(Problem{http::status::bad_request, "malformed-request",
                                  "Malformed request", "The request is not valid HTTP/1.1."});
        close();
    }

    /* The 413 of a body over this request's limit (body_limit_). */
    Problem body_too_large() const
    {
        return Problem{http::status::payload_too_large, "body-too-large", "Body too large",
                       body_limit_ < server_.max_body_bytes()
                           ? "This route reads no request body; one sent anyway may hold at most " +
                                 std::to_string(body_limit_) + " bytes."
                           : "A request body may hold at most " + std::to_string(body_limit_) +
                                 " bytes."};
    }

    /* Answers with problem and closes: the rest of the request is not read.
     * Counted in /metrics under route "http".  To a HEAD whose header was
     * read, without the body (Content-Length stays: what GET would get). */
    void refuse(const Problem &problem)
    {
        server_.router().count_refusal(static_cast<unsigned>(problem.status));
        Response res = problem_response(problem, 11, false);
        if (parser_ && parser_->is_header_done() && parser_->get().method() == http::verb::head)
            res.body().clear();
        write(std::move(res));
    }

    /* Writes an answer made on this strand (a refused request), then reads
     * the next request or closes (the client asked to, or the server is
     * stopping: then "Connection: close"). */
    void write(Response res)
    {
        res.set(http::field::date, http_date_now());
        if (server_.stopping())
            res.keep_alive(false);
        const bool close_after = !res.keep_alive();
        auto message = std::make_shared<Response>(std::move(res));
        on_the_wire_ = true;
        stream_.expires_after(answer_timeout());
        http::async_write(stream_, *message,
                          [self = shared_from_this(), message, close_after](beast::error_code ec,
                                                                            std::size_t) {
                              if (ec)
                                  return self->close();
                              self->after_answer(close_after);
                          });
    }

    /*
     * After the last answer: stop sending, then read and drop what the
     * client still sends (say the body of a refused request) until it
     * closes, so closing does not reset the connection before the client
     * has read the answer: a socket closed with bytes unread sends RST,
     * which drops what of the answer is not yet acknowledged, and a client
     * may lose what it has not read.  Bounded by linger_timeout.
     *
     * During a stop (begun before or after this), a client that keeps its
     * end open would hold the exit that long: so the linger also ends
     * once the client has acknowledged the whole answer and the FIN
     * (answer_delivered: nothing is left to lose), nothing it sent is
     * unread, and it has sent nothing for stop_linger_quiet (not in the
     * middle of a body it is still sending, whose next bytes would meet a
     * closed socket).  A client still sending, or not reading, keeps the
     * whole linger_timeout.
     */
    void linger_and_close()
    {
        on_the_wire_ = false;
        lingering_ = true;
        peer_sent_at_ = std::chrono::steady_clock::now();
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(linger_timeout);
        drain();
        if (server_.stopping())
            check_linger();
    }

    /* One read of linger_and_close, repeated until end-of-file or the timeout. */
    void drain()
    {
        stream_.async_read_some(net::buffer(drain_buffer_),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                    if (n > 0)
                                        self->peer_sent_at_ = std::chrono::steady_clock::now();
                                    if (ec)
                                        return self->close();
                                    self->drain();
                                });
    }

    /* During a stop, every stop_linger_check: ends the linger once the
     * client has the answer and is quiet (see linger_and_close). */
    void check_linger()
    {
        linger_check_.expires_after(stop_linger_check);
        linger_check_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec || !self->stream_.socket().is_open())
                return;
            if (std::chrono::steady_clock::now() - self->peer_sent_at_ >= stop_linger_quiet &&
                answer_delivered(self->stream_.socket().native_handle()))
                return self->close();
            self->check_linger();
        });
    }

    /* How long writing an answer may take: an answer made after a stop's
     * drain (one whose database call was ended by it) has a short while. */
    std::chrono::seconds answer_timeout() const
    {
        return server_.drained() ? last_answer_timeout : transfer_timeout;
    }

    /* Closes the socket; the session ends when its last handler returns. */
    void close()
    {
        stop_timer_.cancel();
        drain_timer_.cancel();
        linger_check_.cancel();
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

    beast::tcp_stream stream_;
    /* Bounded: Beast limits a chunked body's trailer fields and chunk
     * extensions by neither header_limit nor body_limit, and a field
     * value of 64 KiB or more throws out of the read (one request would
     * stop the server).  Over this, the read fails with buffer_overflow
     * (400).  Body bytes are consumed as they come, so any body fits. */
    beast::flat_buffer buffer_{read_buffer_limit};
    std::optional<http::request_parser<http::string_body>> parser_;
    std::optional<http::request_header<>> header_before_trailer_;   /* a chunked request's */
    std::size_t body_limit_ = 0;   /* the request's: max_body_bytes, or bodyless_max_body_bytes */
    std::array<char, 4096> drain_buffer_{};
    HttpServer &server_;
    net::steady_timer stop_timer_;   /* a stop's grace for a header partly read */
    net::steady_timer drain_timer_;  /* a stop's drain deadline */
    net::steady_timer linger_check_; /* during a stop, whether a linger may end */
    bool lingering_ = false;         /* after the last answer; on the strand */
    std::chrono::steady_clock::time_point peer_sent_at_{};   /* lingering: the client's last bytes */
    /* Reading a request (past its first bytes) or writing an answer: what
     * the drain deadline closes.  On the strand. */
    bool on_the_wire_ = false;
    bool idle_ = false;   /* waiting for a request's first bytes; only touched on the strand */
    bool reading_header_ = false;        /* the rest of a started header; on the strand */
    unsigned long headers_started_ = 0;  /* which header the stop timer was set for */
    std::shared_ptr<std::atomic<std::size_t>> open_connections_;   /* the server's count */
};

namespace {

/* Opens acceptor, binds it to endpoint and listens; the first failure in
 * ec.  v6_only: an IPv6 socket takes its own address only, so that of
 * several addresses "::" does not claim IPv4's as well (and 0.0.0.0 of the
 * same name then fail to bind). */
void listen_on(tcp::acceptor &acceptor, const tcp::endpoint &endpoint, bool v6_only,
               beast::error_code &ec)
{
    acceptor.open(endpoint.protocol(), ec);
    if (!ec)
        acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec && v6_only && endpoint.address().is_v6())
        acceptor.set_option(net::ip::v6_only(true), ec);
    if (!ec)
        acceptor.bind(endpoint, ec);
    if (!ec)
        acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (!ec)   /* accepted only once readable (HttpServer::accept): never blocks */
        acceptor.non_blocking(true, ec);
}

/* Whether ec says this machine lacks the address, or its family (::1
 * where IPv6 is off; an address of a name that is another machine's). */
bool address_missing(const beast::error_code &ec)
{
    return ec == boost::system::errc::address_family_not_supported ||
           ec == boost::system::errc::address_not_available;
}

} // namespace

HttpServer::HttpServer(net::io_context &io, const std::vector<tcp::endpoint> &endpoints,
                       std::size_t max_body_bytes, std::size_t max_connections,
                       std::chrono::milliseconds idle_timeout,
                       std::chrono::milliseconds stop_timeout)
    : io_(io), listening_(net::make_strand(io)), signals_(listening_, SIGTERM, SIGINT, SIGHUP),
      left_out_timer_(listening_),
      max_body_bytes_(max_body_bytes),
      max_connections_(max_connections), idle_timeout_(idle_timeout), stop_timeout_(stop_timeout)
{
    /* Port 0: the kernel picks a port free on the first address bound,
     * which something may hold on another; then all again, a few times. */
    const bool any_port = !endpoints.empty() && endpoints.front().port() == 0;
    for (int attempt = 1; !listen_on_all(endpoints); ++attempt) {
        listeners_.clear();
        if (!any_port || attempt == 5)
            throw std::runtime_error("cannot listen on one port on every address: " +
                                     make_error_code(boost::system::errc::address_in_use)
                                         .message());
    }
}

/*
 * Listens on every one of endpoints, the others on the port the first one
 * bound got.  Of several addresses, one this machine lacks is left out
 * with a line on stderr (a name's addresses: localhost's ::1 where IPv6 is
 * off); any other failure throws, as does having none.  False if a port
 * the kernel chose was taken on a later address (the caller tries again).
 */
bool HttpServer::listen_on_all(const std::vector<tcp::endpoint> &endpoints)
{
    const bool several = endpoints.size() > 1;
    for (tcp::endpoint endpoint : endpoints) {
        const bool chosen_port = !listeners_.empty() && endpoint.port() == 0;
        if (!listeners_.empty())   /* one port for all: the one the first got */
            endpoint.port(listeners_.front().acceptor.local_endpoint().port());
        beast::error_code ec;
        listen_on(listeners_.emplace_back(listening_).acceptor, endpoint, several, ec);
        if (!ec)
            continue;
        listeners_.pop_back();
        if (chosen_port && ec == boost::system::errc::address_in_use)
            return false;
        std::ostringstream address;
        address << endpoint;
        if (!several || !address_missing(ec))
            /* The reason alone: system_error's what() adds the Asio
             * header and line that failed, which tell an operator nothing. */
            throw std::runtime_error("cannot listen on " + address.str() + ": " + ec.message());
        std::cerr << "url-shortener-server: not bound to " << address.str() << " ("
                  << ec.message() << "): going on without it" << std::endl;
    }
    if (listeners_.empty())
        throw std::runtime_error("cannot listen on any address the name resolves to");
    return true;
}

/* After a stop's drain deadline, an answer made then is written within
 * last_answer_timeout, and lingered after; nothing else is left. */
std::chrono::seconds HttpServer::after_drain()
{
    return last_answer_timeout + linger_timeout;
}

bool HttpServer::drained() const
{
    return stopping_ && std::chrono::steady_clock::now().time_since_epoch().count() >=
                            drain_deadline_.load();
}

/* The bound addresses, so a port 0 listener can say which port it got. */
std::vector<tcp::endpoint> HttpServer::local_endpoints() const
{
    std::vector<tcp::endpoint> bound;
    for (const Listener &listener : listeners_)
        bound.push_back(listener.acceptor.local_endpoint());
    return bound;
}

/* Starts the accept loops and the wait for a signal. */
void HttpServer::start(Router &router, std::function<void()> on_hangup)
{
    router_ = &router;
    on_hangup_ = std::move(on_hangup);
    /* Posted: the first 5xx line left out in a second may be on a worker. */
    set_left_out_notice([this](std::chrono::steady_clock::time_point second_ends) {
        net::post(listening_, [this, second_ends] {
            if (!stopping_)
                write_left_out_at(second_ends);
        });
    });
    wait_for_signal();
    for (Listener &listener : listeners_)
        accept(listener);
}

HttpServer::~HttpServer()
{
    set_left_out_notice(nullptr);
}

/* On the listening strand: at `when` (the end of the second in which 5xx
 * lines were left out), writes their count if no 5xx line has since, and
 * waits again if more were left out in a later second. */
void HttpServer::write_left_out_at(std::chrono::steady_clock::time_point when)
{
    left_out_timer_.expires_at(when);
    left_out_timer_.async_wait([this](beast::error_code ec) {
        if (ec || stopping_)
            return;
        if (const auto next = write_left_out(false))
            write_left_out_at(*next);
    });
}

/* SIGTERM/SIGINT stop; SIGHUP calls on_hangup and waits again.  A stop
 * cancels the wait; a signal after it is still caught (signals_ keeps
 * them) and does nothing: repeated SIGTERMs, a SIGHUP, during the drain. */
void HttpServer::wait_for_signal()
{
    signals_.async_wait([this](beast::error_code ec, int signal_number) {
        if (ec)
            return;
        if (signal_number != SIGHUP)
            return stop();
        if (on_hangup_)
            on_hangup_();
        wait_for_signal();
    });
}

/*
 * Waits until listener has a connection to accept, then accepts it, onto a
 * strand of its own, if fewer than max_connections are open, and registers
 * it so that stop can reach it; forgotten sessions are pruned on the way.
 * The count is read when accepting, not before waiting: a wait pending on
 * each of several listeners would otherwise let each take the last place
 * (max_connections plus one per extra listener).  Every listener's handlers
 * run on one strand, so no other accept comes between the count and the
 * accept.
 */
void HttpServer::accept(Listener &listener)
{
    listener.acceptor.async_wait(tcp::acceptor::wait_read, [this, &listener](beast::error_code ec) {
        if (ec == net::error::operation_aborted || !listener.acceptor.is_open())
            return;
        if (ec || *open_connections_ >= max_connections_)
            return accept_later(listener);
        tcp::socket socket(net::make_strand(io_));
        listener.acceptor.accept(socket, ec);   /* non-blocking: see listen_on */
        if (ec == net::error::would_block || ec == net::error::try_again)
            return accept(listener);   /* the connection went before it was accepted */
        if (!ec) {
            socket.set_option(tcp::no_delay(true), ec);
            auto session = std::make_shared<Session>(std::move(socket), *this, open_connections_);
            {
                std::lock_guard<std::mutex> lock(sessions_mutex_);
                sessions_.remove_if([](const std::weak_ptr<Session> &s) { return s.expired(); });
                sessions_.push_back(session);
            }
            session->start();
            return accept(listener);
        }
        /* The error comes back at once while it lasts (out of descriptors,
         * say, with many idle keep-alive connections): try again a little
         * later, and meanwhile serve the connections there are. */
        accept_later(listener);
    });
}

/* At max_connections, or after a failed accept: accept again in 50 ms
 * (a timer, not a spin), meanwhile serving the connections there are. */
void HttpServer::accept_later(Listener &listener)
{
    listener.pause.expires_after(std::chrono::milliseconds(50));
    listener.pause.async_wait([this, &listener](beast::error_code wait_ec) {
        if (!wait_ec && !stopping_ && listener.acceptor.is_open())
            accept(listener);
    });
}

/* Graceful stop: no new connections, idle ones closed, busy ones finish
 * until the drain deadline (see the header). */
void HttpServer::stop()
{
    if (stopping_.exchange(true))
        return;
    const auto drain_deadline = std::chrono::steady_clock::now() + stop_timeout_;
    drain_deadline_.store(drain_deadline.time_since_epoch().count());
    beast::error_code ignored;
    for (Listener &listener : listeners_) {
        listener.acceptor.close(ignored);
        listener.pause.cancel();
    }
    signals_.cancel(ignored);
    /* Not left pending (it would hold run()); what is left out from now on
     * is written at the exit (main). */
    left_out_timer_.cancel();
    write_left_out(true);
    if (router_)
        router_->stop(drain_deadline);
    std::lock_guard<std::mutex> lock(sessions_mutex_);
    for (const std::weak_ptr<Session> &weak : sessions_)
        if (std::shared_ptr<Session> session = weak.lock())
            session->stop(drain_deadline);
}

} // namespace url_shortener::server
