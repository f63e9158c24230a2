/*
 * router.cpp
 *    Matching requests to routes and running them (see router.h).
 *
 *    Paths: /healthz, /readyz, /metrics, /api/v1/links[/batch],
 *    /api/v1/links/{code}[/disable|/enable], /{code}, /{code}/qr.svg|png.
 *    A code is 1 to 64 characters of A-Z a-z 0-9 - . _ ~ (every alphabet
 *    and alias the extension allows); anything else cannot name a link and
 *    is a 404 without asking the database.
 *
 *    If-Match: PATCH needs it (428 without); DELETE, /disable and /enable
 *    honour it when sent (412 unless it names the link's version, checked
 *    in the transaction that makes the change) and act unconditionally
 *    without it; GET and HEAD answer 412 when it names another version.
 *    If-None-Match: GET and HEAD answer 304 when it names the version (or
 *    is "*"); on a change only "*" is taken, and answered 412 (404 for an
 *    unknown code) without changing anything; entity tags there are 400.
 *
 *    Idempotency-Key (POST /api/v1/links and /batch): the header's key goes
 *    to the extension as the link's idempotency key; in a batch, element n
 *    (1-based) gets the key "<key>:<n>".  A repeat with the same key and
 *    body gets the first answer again (201, the same codes, no new row);
 *    the same key with another body is 422 (US004).  Without the header
 *    the client library sends a random key per call, for its own retries.
 */
#include "router.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/post.hpp>
#include <boost/url/parse.hpp>

#include "json_links.h"
#include "problem.h"

namespace url_shortener::server {

namespace net = boost::asio;

enum class RouteKind {
    unknown, healthz, readyz, metrics, follow, qr_svg, qr_png,
    links, links_batch, link, link_disable, link_enable
};

struct Match {
    RouteKind kind = RouteKind::unknown;
    std::string code;
};

namespace {

/* The longest idempotency key the extension takes; a batch's key gets
 * ":" and the element's 1-based position (at most 1,000,000, seven digits,
 * as shorten_urls takes no more) appended, so its header is shorter. */
constexpr std::size_t max_key_bytes = 255;
constexpr std::size_t max_batch_key_bytes = max_key_bytes - 8;

/* Whether text can be a link's code (see the file header). */
bool plausible_code(const std::string &text)
{
    if (text.empty() || text.size() > 64)
        return false;
    for (char c : text)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~'))
            return false;
    return true;
}

/*
 * Whether an encoded path has a dot segment ("." or "..", a dot written
 * %2E or %2e too).  Boost.URL's segments() hides a leading "/." (it is
 * how a URL escapes a path that starts with "//"), so "/./metrics" would
 * be /metrics while "/metrics/." is not: a proxy that guards /metrics by
 * its raw path would let the first through.  A path with one names
 * nothing here (404), however it is written.
 */
bool has_dot_segment(std::string_view path)
{
    while (!path.empty()) {
        const std::size_t slash = path.find('/');
        std::string_view segment = path.substr(0, slash);
        std::size_t dots = 0;
        while (!segment.empty()) {
            if (segment.front() == '.')
                segment.remove_prefix(1);
            else if (segment.size() >= 3 && segment[0] == '%' && segment[1] == '2' &&
                     (segment[2] == 'e' || segment[2] == 'E'))
                segment.remove_prefix(3);
            else
                break;
            ++dots;
        }
        if (segment.empty() && (dots == 1 || dots == 2))
            return true;
        if (slash == std::string_view::npos)
            break;
        path.remove_prefix(slash + 1);
    }
    return false;
}

/* The route the request target names (path only; a query is ignored).
 * /api/v1/links/batch is the batch only for POST: for the other methods it
 * is the link whose alias is "batch". */
Match match_target(std::string_view target, http::verb method)
{
    /*
     * The query is not parsed at all: browsers send characters RFC 3986
     * does not allow there (|, {, }, ^, a stray %) as they are, and a link
     * followed with such a query must still lead where it leads.
     */
    target = target.substr(0, target.find('?'));

    /* origin-form ("/abc"), or absolute-form ("http://host/abc"), which
     * RFC 9112 has servers accept too: its path is the route. */
    std::vector<boost::urls::pct_string_view> segments;   /* as sent: views into target */
    std::string_view path;
    const auto take = [&](const auto &url) {
        path = url.encoded_path();
        for (const boost::urls::pct_string_view segment : url.encoded_segments())
            segments.push_back(segment);
    };
    if (auto origin = boost::urls::parse_origin_form(target)) {
        take(*origin);
    } else if (auto absolute = boost::urls::parse_absolute_uri(target);
               absolute && absolute->has_authority() &&
               (absolute->scheme_id() == boost::urls::scheme::http ||
                absolute->scheme_id() == boost::urls::scheme::https)) {
        /* (With an authority: "http:metrics" is no absolute-form target,
         * and a proxy guarding /metrics by the raw path would pass it.) */
        take(*absolute);
    } else {
        return {};
    }
    if (has_dot_segment(path))
        return {};

    /*
     * Route names must be written as they are: a proxy that guards
     * /metrics or /api by the raw path must not be passed by /%6Detrics,
     * which decodes to it, nor /api/v1/links/%62atch be the batch.  A code
     * may be percent-encoded (/%7Eab is /~ab, RFC 3986 6.2.2.2), except
     * one spelled like a route word (v1, links, batch, enable, disable, and
     * the words the extension reserves): percent-encoded, it names nothing.
     */
    const auto named = [&segments](std::size_t i, std::string_view name) {
        return std::string_view(segments[i].data(), segments[i].size()) == name;
    };
    const auto code_at = [&segments](std::size_t i) -> std::optional<std::string> {
        std::string code = segments[i].decode();
        if (!plausible_code(code))
            return std::nullopt;
        if (code.size() != segments[i].size())
            for (const char *word : {"healthz", "readyz", "metrics", "api", "v1", "links", "batch",
                                     "disable", "enable", "qr.svg", "qr.png"})
                if (code == word)
                    return std::nullopt;
        return code;
    };
    Match match;
    const std::size_t n = segments.size();
    if (n == 1 && named(0, "healthz"))
        match.kind = RouteKind::healthz;
    else if (n == 1 && named(0, "readyz"))
        match.kind = RouteKind::readyz;
    else if (n == 1 && named(0, "metrics"))
        match.kind = RouteKind::metrics;
    else if (n >= 3 && named(0, "api") && named(1, "v1") && named(2, "links")) {
        if (n == 3) {
            match.kind = RouteKind::links;
        } else if (n == 4 && named(3, "batch") && method == http::verb::post) {
            match.kind = RouteKind::links_batch;
        } else if (std::optional<std::string> code = n <= 5 ? code_at(3) : std::nullopt) {
            if (n == 4)
                match.kind = RouteKind::link;
            else if (named(4, "disable"))
                match.kind = RouteKind::link_disable;
            else if (named(4, "enable"))
                match.kind = RouteKind::link_enable;
            match.code = std::move(*code);
        }
    } else if (n == 1 || (n == 2 && (named(1, "qr.svg") || named(1, "qr.png")))) {
        if (std::optional<std::string> code = code_at(0)) {
            match.kind = n == 1 ? RouteKind::follow
                                : named(1, "qr.svg") ? RouteKind::qr_svg : RouteKind::qr_png;
            match.code = std::move(*code);
        }
    }
    return match;
}

/* The fixed name a route is counted under in /metrics. */
std::string route_name(RouteKind kind, http::verb method)
{
    switch (kind) {
    case RouteKind::healthz: return "healthz";
    case RouteKind::readyz: return "readyz";
    case RouteKind::metrics: return "metrics";
    case RouteKind::follow: return method == http::verb::head ? "redirect_head" : "redirect";
    case RouteKind::qr_svg:
    case RouteKind::qr_png: return "qr";
    case RouteKind::links: return "links_create";
    case RouteKind::links_batch: return "links_batch";
    case RouteKind::link:
        return method == http::verb::patch ? "link_update"
               : method == http::verb::delete_ ? "link_delete" : "link_read";
    case RouteKind::link_disable: return "link_disable";
    case RouteKind::link_enable: return "link_enable";
    case RouteKind::unknown: break;
    }
    return "unknown";
}

/* The methods a route answers, in the order Allow names them (HEAD
 * wherever GET); none for an unknown route. */
const std::vector<http::verb> &methods_of(RouteKind kind);

/* The methods of the resource match names: /api/v1/links/batch is the
 * batch for POST and a link named "batch" for the others, so it has both's. */
const std::vector<http::verb> &methods_of(const Match &match)
{
    using v = http::verb;
    static const std::vector<v> link_or_batch{v::get, v::head, v::post, v::patch, v::delete_};
    if (match.kind == RouteKind::link && match.code == "batch")
        return link_or_batch;
    return methods_of(match.kind);
}

const std::vector<http::verb> &methods_of(RouteKind kind)
{
    using v = http::verb;
    static const std::vector<v> reads{v::get, v::head}, post{v::post},
        link{v::get, v::head, v::patch, v::delete_}, none{};
    switch (kind) {
    case RouteKind::healthz:
    case RouteKind::readyz:
    case RouteKind::metrics:
    case RouteKind::follow:
    case RouteKind::qr_svg:
    case RouteKind::qr_png: return reads;
    case RouteKind::links:
    case RouteKind::links_batch:
    case RouteKind::link_disable:
    case RouteKind::link_enable: return post;
    case RouteKind::link: return link;
    case RouteKind::unknown: break;
    }
    return none;
}

/* Whether a route reads the request's body (see Router::takes_body). */
bool reads_body(RouteKind kind, http::verb method)
{
    return kind == RouteKind::links || kind == RouteKind::links_batch ||
           (kind == RouteKind::link && method == http::verb::patch);
}

/* Whether a route is the API's, which needs a key. */
bool is_api(RouteKind kind)
{
    return kind == RouteKind::links || kind == RouteKind::links_batch || kind == RouteKind::link ||
           kind == RouteKind::link_disable || kind == RouteKind::link_enable;
}

/* 404 for a path that names no route. */
[[noreturn]] void throw_not_found()
{
    throw ProblemError(Problem{http::status::not_found, "not-found", "Not found",
                               "Nothing is served at this path."});
}

/* 405 unless method is one of allowed (their names, for the Allow header). */
void require_method(const Request &request, const std::vector<http::verb> &allowed)
{
    /* A method no route of this server knows (BREW, or get: methods are
     * case-sensitive) is not implemented, RFC 9110 9.1; a known one it
     * does not allow here is 405. */
    if (request.method() == http::verb::unknown)
        throw ProblemError(Problem{http::status::not_implemented, "not-implemented",   /* unlogged */
                                   "Not implemented",
                                   "This server implements GET, HEAD, POST, PATCH and DELETE."});
    std::string names;
    for (http::verb verb : allowed) {
        if (request.method() == verb)
            return;
        names += (names.empty() ? "" : ", ") + std::string(http::to_string(verb));
    }
    throw ProblemError(Problem{http::status::method_not_allowed, "method-not-allowed",
                               "Method not allowed", "This resource answers " + names + ".",
                               {}, 0, names});
}

/* 415 unless the body is declared JSON (application/json or any +json). */
void require_json(const Request &request)
{
    /* One field: of two, which one the body is would be a guess (RFC 9110, 5.3). */
    if (request.count(http::field::content_type) > 1)
        throw bad_request("The request has more than one Content-Type header field.");
    std::string_view type = request[http::field::content_type];
    type = type.substr(0, type.find(';'));
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t'))
        type.remove_suffix(1);
    /* A structured syntax suffix needs a subtype before it: "x/y+json",
     * type and subtype tokens (RFC 9110, 8.3.1 and 5.6.2). */
    const auto token = [](std::string_view t) {
        return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
            return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        });
    };
    const std::size_t slash = type.find('/');
    const bool suffixed_json = boost::algorithm::iends_with(type, "+json") &&
                               slash != std::string_view::npos && token(type.substr(0, slash)) &&
                               type.size() > slash + 1 + 5 &&
                               token(type.substr(slash + 1, type.size() - slash - 1 - 5));
    if (!boost::algorithm::iequals(type, "application/json") && !suffixed_json)
        throw ProblemError(Problem{http::status::unsupported_media_type, "unsupported-media-type",
                                   "Unsupported media type",
                                   "The body must be JSON, sent as Content-Type: application/json."});
    /* No content coding is undone here: a gzip body is refused as such,
     * not parsed as JSON (nor a plain one labelled br taken as it is). */
    const auto codings = request.equal_range(http::field::content_encoding);
    for (auto field = codings.first; field != codings.second; ++field) {
        std::string_view coding = field->value();
        while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t'))
            coding.remove_prefix(1);
        while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t'))
            coding.remove_suffix(1);
        if (!boost::algorithm::iequals(coding, "identity"))
            throw ProblemError(Problem{http::status::unsupported_media_type,
                                       "unsupported-media-type", "Unsupported media type",
                                       "The body must be sent without a content coding "
                                       "(Content-Encoding: gzip and the like are not undone)."});
    }
}

/* The version an opaque tag's text names ("3"), if it is one of ours. */
std::optional<long long> version_named(std::string_view tag)
{
    long long version = 0;
    if (tag.empty() || (tag.size() > 1 && tag.front() == '0'))
        return std::nullopt;
    for (const char c : tag) {
        const int digit = c - '0';
        /* No version the database hands out is above bigint's maximum. */
        if (digit < 0 || digit > 9 || version > (std::numeric_limits<long long>::max() - digit) / 10)
            return std::nullopt;
        version = version * 10 + digit;
    }
    return version;
}

/*
 * The If-Match (or If-None-Match) header(s) of a request on a link (RFC
 * 9110: "*" or a list of entity tags, W/"..." or "...", over one or more
 * header lines), or std::nullopt without one; 400 if one is not that
 * syntax.  A weak tag names its version only for weak comparison
 * (If-None-Match's); If-Match compares strongly.
 */
std::optional<IfMatch> entity_tags(const Request &request, http::field field_name,
                                   const std::string &name, bool weak_comparison)
{
    const auto [first, last] = request.equal_range(field_name);
    if (first == last)
        return std::nullopt;
    const auto malformed = [&name] {
        return bad_request(name + " must be \"*\" or entity tags as GET "
                           "/api/v1/links/{code} returns them in ETag, such as \"3\" (with "
                           "the quotes).");
    };
    const auto blank = [](char c) { return c == ' ' || c == '\t'; };
    IfMatch result;
    std::size_t elements = 0;
    for (auto field = first; field != last; ++field) {
        const std::string_view value = field->value();
        std::size_t at = 0;
        while (at < value.size()) {
            /* Empty list elements are allowed: ", ," */
            if (blank(value[at]) || value[at] == ',') {
                ++at;
                continue;
            }
            ++elements;
            if (value[at] == '*') {
                result.any = true;
                ++at;
            } else {
                const bool weak = value.compare(at, 2, "W/") == 0;
                if (weak)
                    at += 2;
                if (at >= value.size() || value[at] != '"')
                    throw malformed();
                const std::size_t close = value.find('"', at + 1);
                if (close == std::string_view::npos)
                    throw malformed();
                const std::string_view tag = value.substr(at + 1, close - at - 1);
                for (const char c : tag)
                    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f)
                        throw malformed();
                if (const std::optional<long long> version = version_named(tag);
                    version && (!weak || weak_comparison))
                    result.versions.push_back(*version);
                at = close + 1;
            }
            while (at < value.size() && blank(value[at]))
                ++at;
            if (at < value.size() && value[at] != ',')
                throw malformed();
        }
    }
    if (elements == 0 || (result.any && elements > 1))
        throw malformed();
    return result;
}

std::optional<IfMatch> if_match(const Request &request)
{
    return entity_tags(request, http::field::if_match, "If-Match", false);
}

std::optional<IfNoneMatch> if_none_match(const Request &request)
{
    std::optional<IfMatch> tags =
        entity_tags(request, http::field::if_none_match, "If-None-Match", true);
    if (!tags)
        return std::nullopt;
    return IfNoneMatch{tags->any, std::move(tags->versions)};
}

/*
 * If-None-Match on a change: "*" only (the change then never happens:
 * refuse_change_unless_absent); entity tags would need the change made
 * only at a version they do not name, which no call of the client does.
 */
bool change_unless_absent(const Request &request)
{
    const std::optional<IfNoneMatch> given = if_none_match(request);
    if (given && !given->any)
        throw bad_request("If-None-Match on a change of a link must be \"*\" (which an "
                          "existing link never satisfies); use If-Match to change it at a "
                          "version.");
    return given.has_value();
}

/*
 * Preconditions on a POST that creates links: the collection it posts to
 * has no representation, so an If-Match (tags or "*") can never be
 * satisfied: 412, nothing created (RFC 9110, 13.1.1); an If-None-Match
 * always is.  Either is 400 if it is not the syntax.
 */
void check_preconditions_of_create(const Request &request)
{
    (void) if_none_match(request);
    if (if_match(request))
        throw ProblemError(Problem{http::status::precondition_failed, "precondition-failed",
                                   "Precondition failed",
                                   "If-Match on a POST that creates links cannot match: there is "
                                   "no link yet. Nothing was created."});
}

/* The If-Match of a PATCH: 428 without one, as the route needs it to be race-free. */
IfMatch required_if_match(const Request &request)
{
    std::optional<IfMatch> given = if_match(request);
    if (!given)
        throw ProblemError(Problem{http::status::precondition_required, "if-match-required",
                                   "If-Match required",
                                   "Send If-Match with the ETag from GET /api/v1/links/{code}, so "
                                   "an edit cannot overwrite someone else's."});
    return std::move(*given);
}

/*
 * The key of the Idempotency-Key header (draft-ietf-httpapi-idempotency-key-
 * header), or std::nullopt without one.  The draft's form is a Structured
 * Field String, "..." with \" and \\ escaped; a bare value, as many APIs take
 * it, is the key as it stands.  A 400 if the header is repeated, or its key
 * is empty, longer than max_bytes, holds a control character or is a
 * malformed string.
 */
std::optional<std::string> idempotency_key(const Request &request, std::size_t max_bytes)
{
    const auto found = request.find("Idempotency-Key");
    if (found == request.end())
        return std::nullopt;
    if (request.count("Idempotency-Key") > 1)
        throw bad_request("Send one Idempotency-Key header, not several.");
    const std::string_view value = found->value();
    std::string key;
    bool ok = true;
    if (!value.empty() && value.front() == '"') {
        std::size_t i = 1;
        for (; ok && i < value.size() && value[i] != '"'; ++i) {
            if (value[i] == '\\') {
                ++i;
                ok = i < value.size() && (value[i] == '"' || value[i] == '\\');
            }
            if (ok)
                key += value[i];
        }
        ok = ok && i + 1 == value.size();   /* the closing quote ends the value */
    } else {
        key = value;
    }
    for (char c : key)
        ok = ok && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
    if (!ok)
        throw bad_request("The Idempotency-Key header must be a string such as "
                          "\"8e03978e-40d5-43e8-bc93-6894a57f9324\" (quoted, with \\\" and "
                          "\\\\ escaped) or the key alone, without control characters.");
    if (key.empty() || key.size() > max_bytes)
        throw bad_request("The Idempotency-Key header's key must be 1 to " +
                          std::to_string(max_bytes) + " bytes long on this route (it has " +
                          std::to_string(key.size()) + ").");
    return key;
}

/* A small uncached text answer (health, metrics). */
Response text_response(http::status status, std::string body, const char *type = "text/plain")
{
    Response res{status, 11};
    res.set(http::field::content_type, type);
    res.set(http::field::cache_control, "no-store");
    res.body() = std::move(body);
    return res;
}

} // namespace

Router::Router(LinkSettings settings, std::chrono::milliseconds pool_wait, ConnectionPool &pool,
               RedirectConnections &redirects, net::thread_pool &workers,
               CallDeadlines &deadlines, Metrics &metrics, ApiKeys keys)
    : settings_(std::move(settings)), pool_wait_(pool_wait), pool_(pool), redirects_(redirects),
      workers_(workers), deadlines_(deadlines), metrics_(metrics),
      keys_(std::make_shared<const ApiKeys>(std::move(keys)))
{
}

void Router::replace_keys(ApiKeys keys)
{
    auto replacement = std::make_shared<const ApiKeys>(std::move(keys));
    const std::lock_guard<std::mutex> lock(keys_mutex_);
    keys_ = std::move(replacement);
}

Router::Finish Router::finisher(const Request &request, const Match &match, bool keep_alive,
                               Respond respond)
{
    const auto started = std::chrono::steady_clock::now();
    const unsigned version = request.version();
    const bool head = request.method() == http::verb::head;
    return [this, started, version, keep_alive, head, name = route_name(match.kind, request.method()),
            respond = std::move(respond)](Response res) {
        /* RFC 9110 (2.5): the server's own version, whatever the request's;
         * an HTTP/1.0 client keeps the connection only when told so. */
        res.version(11);
        res.keep_alive(keep_alive);
        if (keep_alive && version < 11)
            res.set(http::field::connection, "keep-alive");
        res.prepare_payload();
        /* RFC 9110 (8.6): no Content-Length on a 204 (Beast sets "0"), nor
         * on a 304, where only the 200's length would be right. */
        if (res.result() == http::status::no_content || res.result() == http::status::not_modified)
            res.erase(http::field::content_length);
        if (head)
            res.body().clear();   /* Content-Length stays: what GET would send */
        metrics_.record(name, res.result_int(), std::chrono::steady_clock::now() - started);
        respond(std::move(res));
    };
}

void Router::handle(Request request, Respond respond)
{
    const unsigned version = request.version();
    const bool keep_alive = request.keep_alive();
    const Match match = match_target(request.target(), request.method());
    Finish finish = finisher(request, match, keep_alive, std::move(respond));
    try {
        dispatch(request, match, finish);
    } catch (...) {
        finish(problem_response(problem_for_current_exception(), version, keep_alive));
    }
}

bool Router::screen(const Request &header, Respond respond)
{
    const Match match = match_target(header.target(), header.method());
    try {
        if (match.kind == RouteKind::unknown)
            throw_not_found();
        if (is_api(match.kind))
            authorize(header);   /* first, as in dispatch */
        require_method(header, methods_of(match));
        return false;
    } catch (...) {
        finisher(header, match, false, std::move(respond))(
            problem_response(problem_for_current_exception(), header.version(), false));
        return true;
    }
}

bool Router::takes_body(const Request &header) const
{
    return reads_body(match_target(header.target(), header.method()).kind, header.method());
}

void Router::dispatch(const Request &request, const Match &match, const Finish &finish)
{
    const unsigned version = request.version();
    const bool keep_alive = request.keep_alive();
    const std::string &code = match.code;
    const LinkSettings &settings = settings_;
    switch (match.kind) {
    case RouteKind::unknown:
        throw_not_found();
    case RouteKind::healthz:
        require_method(request, methods_of(match));
        return finish(text_response(http::status::ok, "ok\n"));
    case RouteKind::metrics:
        require_method(request, methods_of(match));
    {
        PoolCounts api = pool_.counts();
        api.unanswered = deadlines_.interrupted();
        return finish(text_response(http::status::ok, metrics_.render(redirects_.counts(), api),
                                    "text/plain; version=0.0.4"));
    }
    case RouteKind::readyz:
        require_method(request, methods_of(match));
        return run_on_worker([](Client &client) { return database_ready(client); }, finish,
                             version, keep_alive, 4, true);
    case RouteKind::follow:
        require_method(request, methods_of(match));
        if (request.method() == http::verb::head)
            return run_on_worker(
                [code, settings](Client &client) { return check_link(client, code, settings); },
                finish, version, keep_alive);
        /* match_target admits only plausible codes (no NUL byte to send). */
        return redirects_.resolve(code, [this, code, finish, version, keep_alive](
                                            std::optional<std::string> url,
                                            std::exception_ptr error) {
            Response res;
            try {
                if (error)
                    std::rethrow_exception(error);
                res = followed_link(code, url, settings_);
            } catch (...) {
                res = problem_response(problem_for_current_exception(), version, keep_alive);
            }
            finish(std::move(res));
        });
    case RouteKind::qr_svg:
    case RouteKind::qr_png: {
        require_method(request, methods_of(match));
        const bool png = match.kind == RouteKind::qr_png;
        return run_on_worker(
            [code, png, settings](Client &client) { return link_qr(client, code, png, settings); },
            finish, version, keep_alive);
    }
    default:
        break;
    }

    /* The API: the key first, so an unauthorized caller learns nothing else. */
    authorize(request);
    switch (match.kind) {
    case RouteKind::links: {
        require_method(request, methods_of(match));
        require_json(request);
        check_preconditions_of_create(request);
        NewLink link = parse_new_link(request.body());
        link.options.idempotency_key = idempotency_key(request, max_key_bytes);
        if (link.options.idempotency_key && (link.options.alias || link.options.reuse))
            throw bad_request("Idempotency-Key cannot go with \"alias\" or \"reuse\": an "
                              "alias is its own identity, and reuse already returns the URL's "
                              "one link whenever it is repeated.");
        return run_on_worker(
            [link = std::move(link), settings](Client &client) {
                return create_link(client, link, settings);
            },
            finish, version, keep_alive);
    }
    case RouteKind::links_batch: {
        require_method(request, methods_of(match));
        require_json(request);
        check_preconditions_of_create(request);
        std::vector<std::string> urls = parse_batch(request.body());
        std::optional<std::string> key = idempotency_key(request, max_batch_key_bytes);
        const std::size_t statements =
            batch_call_statements(urls.size(), pool_.options().batch_chunk_size);
        return run_on_worker(
            [urls = std::move(urls), key = std::move(key), settings](Client &client) {
                return create_links(client, urls, key, settings);
            },
            finish, version, keep_alive, statements);
    }
    case RouteKind::link:
        require_method(request, methods_of(match));
        if (request.method() == http::verb::get || request.method() == http::verb::head)
            return run_on_worker(
                [code, settings, expected = if_match(request),
                 unexpected = if_none_match(request)](Client &client) {
                    return read_link(client, code, settings, expected, unexpected);
                },
                finish, version, keep_alive);
        if (change_unless_absent(request))
            return run_on_worker(
                [code](Client &client) -> Response { refuse_change_unless_absent(client, code); },
                finish, version, keep_alive);
        if (request.method() == http::verb::delete_)
            return run_on_worker(
                [code, expected = if_match(request)](Client &client) {
                    return delete_link(client, code, expected);
                },
                finish, version, keep_alive);
        {
            IfMatch expected = required_if_match(request);
            require_json(request);
            std::string new_url = parse_new_url(request.body());
            return run_on_worker(
                [code, new_url = std::move(new_url), expected = std::move(expected),
                 settings](Client &client) {
                    return edit_link(client, code, new_url, expected, settings);
                },
                finish, version, keep_alive);
        }
    case RouteKind::link_disable:
    case RouteKind::link_enable: {
        require_method(request, methods_of(match));
        const bool enable = match.kind == RouteKind::link_enable;
        if (change_unless_absent(request))
            return run_on_worker(
                [code](Client &client) -> Response { refuse_change_unless_absent(client, code); },
                finish, version, keep_alive);
        return run_on_worker(
            [code, enable, expected = if_match(request)](Client &client) {
                return set_link_enabled(client, code, enable, expected);
            },
            finish, version, keep_alive);
    }
    default:
        throw_not_found();
    }
}

void Router::authorize(const Request &request) const
{
    /* A singleton field (RFC 9110, 11.6.2): which of two would count is
     * anyone's guess, as with two Idempotency-Key headers. */
    if (request.count(http::field::authorization) > 1)
        throw bad_request("Send one Authorization header, not several.");
    std::shared_ptr<const ApiKeys> keys;
    {
        const std::lock_guard<std::mutex> lock(keys_mutex_);
        keys = keys_;
    }
    if (keys->empty())
        throw ProblemError(Problem{http::status::forbidden, "api-disabled", "API disabled",
                                   "This server was started without --api-key-file, so its API "
                                   "is refused; redirects still work."});
    if (!keys->accepts(request[http::field::authorization]))
        throw ProblemError(Problem{http::status::unauthorized, "unauthorized", "Unauthorized",
                                   "Send Authorization: Bearer <key> with a key from the "
                                   "server's --api-key-file."});
}

void Router::run_on_worker(Work work, Finish finish, unsigned version, bool keep_alive,
                           std::size_t statements, bool readiness)
{
    const auto deadline = std::chrono::steady_clock::now() + pool_wait_;
    net::post(workers_, [this, work = std::move(work), finish = std::move(finish), deadline,
                         version, keep_alive, statements, readiness] {
        Response res;
        try {
            std::optional<ConnectionPool::Lease> lease = pool_.acquire(deadline);
            if (!lease)
                throw ProblemError(pool_exhausted());
            /* Ends before the lease does: no interrupt reaches the next user. */
            CallDeadlines::Watch watch(deadlines_, lease->client(), statements);
            /* Two calls on the client: an interrupt between them
             * (microseconds) ends nothing, but the watch interrupts again
             * every repeat_interrupt_interval until the work ends, so
             * work's call ends too; counted as unanswered once.  A probe
             * (readiness) only reads: a pooled connection that lost its
             * backend while idle (pg_terminate_backend) is replaced by
             * the client library, before sending or, since the probe's
             * statement only reads, after. */
            lease->connect();
            res = work(lease->client());
        } catch (...) {
            Problem problem = problem_for_current_exception();
            if (readiness)
                problem = not_ready(std::move(problem));
            res = problem_response(problem, version, keep_alive);
        }
        finish(std::move(res));
    });
}

} // namespace url_shortener::server
