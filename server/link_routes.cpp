/*
 * link_routes.cpp
 *    The database-backed routes, each a call or two of url_shortener::Client
 *    (see link_routes.h).
 */
#include "link_routes.h"

#include <algorithm>
#include <chrono>

#include <boost/json.hpp>
#include <url_shortener/errors.h>

#include "call_deadline.h"
#include "problem.h"
#include "qr_code.h"

namespace url_shortener::server {

namespace json = boost::json;

/* Tries of an edit under "*" or several tags (see edit_link). */
constexpr int edit_attempts = 32;

namespace {

/* The public short URL of code: the base URL, a slash, the code. */
std::string short_url(const LinkSettings &settings, const std::string &code)
{
    return settings.base_url + "/" + code;
}

/* An API answer: JSON, never cached (it reports live counts). */
Response json_response(http::status status, const json::value &body)
{
    Response res{status, 11};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    res.body() = json::serialize(body) + "\n";
    return res;
}

/* 204: done, nothing to say. */
Response no_content()
{
    return Response{http::status::no_content, 11};
}

/*
 * url as a Location value.  The extension stores printable ASCII only, but
 * a row written around it (an INSERT by hand, another application, a
 * restore) may hold anything, and a CR or LF would end the header and
 * start another (Beast checks no field value).  Every byte outside
 * printable ASCII is percent-encoded, as a browser does with such a URL.
 */
std::string location_value(const std::string &url)
{
    static const char hex[] = "0123456789ABCDEF";
    std::string value;
    value.reserve(url.size());
    for (const char c : url) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte > 0x20 && byte < 0x7f) {
            value += c;
        } else {
            value += '%';
            value += hex[byte >> 4];
            value += hex[byte & 0x0f];
        }
    }
    return value;
}

/* A redirect to url.  no-store: a cached redirect would skip the click count. */
Response redirect_to(const std::string &url, const LinkSettings &settings)
{
    Response res{settings.redirect_status, 11};
    res.set(http::field::location, location_value(url));
    res.set(http::field::cache_control, "no-store");
    return res;
}

/* Whether if_match asks for particular versions ("*" asks only that the link exists). */
bool names_versions(const std::optional<IfMatch> &if_match)
{
    return if_match && !if_match->any;
}

} // namespace

Response followed_link(const std::string &code, const std::optional<std::string> &url,
                       const LinkSettings &settings)
{
    if (!url)
        throw ProblemError(no_such_link(code));
    return redirect_to(*url, settings);
}

Response check_link(Client &client, const std::string &code, const LinkSettings &settings)
{
    const std::optional<std::string> url = client.resolve_without_click(code);
    if (!url)
        throw ProblemError(no_such_link(code));
    return redirect_to(*url, settings);
}

Response link_qr(Client &client, const std::string &code, bool png, const LinkSettings &settings)
{
    if (!client.stats(code))
        throw ProblemError(no_such_link(code));
    Response res{http::status::ok, 11};
    res.set(http::field::content_type, png ? "image/png" : "image/svg+xml");
    res.set(http::field::cache_control, "public, max-age=86400");
    res.body() = png ? qr_png(short_url(settings, code)) : qr_svg(short_url(settings, code));
    return res;
}

Response create_link(Client &client, const NewLink &link, const LinkSettings &settings)
{
    const std::string code = client.shorten(link.url, link.options);
    Response res = json_response(http::status::created,
                                 link_json(code, short_url(settings, code), link));
    res.set(http::field::location, "/api/v1/links/" + code);
    return res;
}

Response create_links(Client &client, const std::vector<std::string> &urls,
                      const std::optional<std::string> &idempotency_key,
                      const LinkSettings &settings)
{
    std::vector<std::string> codes;
    if (idempotency_key) {
        std::vector<std::string> keys;
        keys.reserve(urls.size());
        for (std::size_t i = 0; i < urls.size(); ++i)
            keys.push_back(*idempotency_key + ":" + std::to_string(i + 1));
        codes = client.shorten_many(urls, keys);
    } else {
        codes = client.shorten_many(urls);   /* random keys, for the client's own retries */
    }
    json::array links;
    links.reserve(codes.size());
    for (std::size_t i = 0; i < codes.size(); ++i)
        links.push_back(json::object{{"url", urls[i]},
                                     {"code", codes[i]},
                                     {"short_url", short_url(settings, codes[i])}});
    return json_response(http::status::created, json::object{{"links", std::move(links)}});
}

Response read_link(Client &client, const std::string &code, const LinkSettings &settings,
                   const std::optional<IfMatch> &if_match,
                   const std::optional<IfNoneMatch> &if_none_match)
{
    const std::optional<LinkStats> stats = client.stats(code);
    if (!stats)
        throw ProblemError(no_such_link(code));
    const std::string etag = "\"" + std::to_string(stats->version) + "\"";
    const auto names = [&stats](const std::vector<long long> &versions) {
        return std::find(versions.begin(), versions.end(), stats->version) != versions.end();
    };
    if (if_match && !if_match->any && !names(if_match->versions))
        throw ProblemError(Problem{http::status::precondition_failed, "version-conflict",
                                   "Precondition failed",
                                   "The link is at version " + std::to_string(stats->version) +
                                       ", which If-Match does not name."});
    if (if_none_match && (if_none_match->any || names(if_none_match->versions))) {
        Response res{http::status::not_modified, 11};
        res.set(http::field::etag, etag);
        res.set(http::field::cache_control, "no-store");
        return res;
    }
    Response res = json_response(http::status::ok, stats_json(*stats, short_url(settings, code)));
    res.set(http::field::etag, etag);
    return res;
}

void refuse_change_unless_absent(Client &client, const std::string &code)
{
    if (!client.stats(code))
        throw ProblemError(no_such_link(code));
    throw ProblemError(Problem{http::status::precondition_failed, "version-conflict",
                               "Precondition failed",
                               "If-None-Match: * asks that the link not exist, and it does: "
                               "nothing was changed."});
}

Response edit_link(Client &client, const std::string &code, const std::string &new_url,
                   const IfMatch &if_match, const LinkSettings &settings)
{
    std::optional<long long> version;
    if (!if_match.any && if_match.versions.size() == 1) {
        version = client.update(code, new_url, if_match.versions.front());
    } else {
        /* "*" or several tags: read the version, then update at it.  An
         * edit stored in between (US003) is no reason for 412 while the
         * version it made still satisfies If-Match ("*": any version of an
         * existing link, RFC 9110 13.1.1): read again and retry.  Each
         * such failure means another edit of this link was stored since
         * the read, so only edit_attempts edits landing while this one is
         * being made keep it from its turn: then 503, nothing done. */
        for (int attempt = 1;; ++attempt) {
            const std::optional<LinkStats> stats = client.stats(code);
            if (!stats)
                throw ProblemError(no_such_link(code));
            if (!if_match.any && std::find(if_match.versions.begin(), if_match.versions.end(),
                                           stats->version) == if_match.versions.end())
                throw ProblemError(Problem{http::status::precondition_failed, "version-conflict",
                                           "Link changed by someone else",
                                           "The link is at version " +
                                               std::to_string(stats->version) +
                                               ", which If-Match does not name."});
            try {
                version = client.update(code, new_url, stats->version);
                break;
            } catch (const VersionConflict &e) {
                if (attempt == edit_attempts) {
                    Problem busy{http::status::service_unavailable, "link-busy", "Link busy",
                                 "The link was changed " + std::to_string(edit_attempts) +
                                     " times by other edits while this one was being made; "
                                     "nothing was done. Try again.",
                                 e.sqlstate(), 1};
                    busy.cause = e.primary_message();
                    throw ProblemError(std::move(busy));
                }
                /* As the client library's own retries do: the call's
                 * deadline is armed afresh for the next try. */
                CallDeadlines::on_retry(
                    RetryEvent{RetryCause::serialization_failure, attempt, std::chrono::milliseconds(0)});
            }
        }
    }
    if (!version)
        throw ProblemError(no_such_link(code));
    Response res = json_response(http::status::ok, json::object{{"code", code},
                                                                {"short_url", short_url(settings, code)},
                                                                {"url", new_url},
                                                                {"version", *version}});
    res.set(http::field::etag, "\"" + std::to_string(*version) + "\"");
    return res;
}

/* enable/disable say only whether the state changed; "nothing changed" is
 * told apart from "no such link" by one more look (enable_at and
 * disable_at tell it themselves). */
Response set_link_enabled(Client &client, const std::string &code, bool enabled,
                          const std::optional<IfMatch> &if_match)
{
    if (names_versions(if_match)) {
        if (!(enabled ? client.enable_at(code, if_match->versions)
                      : client.disable_at(code, if_match->versions)))
            throw ProblemError(no_such_link(code));
        return no_content();
    }
    const bool changed = enabled ? client.enable(code) : client.disable(code);
    if (!changed && !client.stats(code))
        throw ProblemError(no_such_link(code));
    return no_content();
}

Response delete_link(Client &client, const std::string &code,
                     const std::optional<IfMatch> &if_match)
{
    const bool removed = names_versions(if_match)
                             ? client.remove_at(code, if_match->versions).value_or(false)
                             : client.remove(code);
    if (!removed)
        throw ProblemError(no_such_link(code));
    return no_content();
}

Response database_ready(Client &client)
{
    client.stats("readyz");   /* any answer, even "no such link", means it serves */
    Response res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain");
    res.set(http::field::cache_control, "no-store");
    res.body() = "ready\n";
    return res;
}

} // namespace url_shortener::server
