/*
 * link_routes.h
 *    What each database-backed route does with a leased Client: one
 *    function per route, run on a worker thread (GET /{code} excepted: its
 *    statement runs on redirect_connections.h's connections).  Each returns the answer
 *    (version and keep-alive are the router's business) or throws; the
 *    router turns what it throws into a problem (problem.h).
 */
#ifndef URL_SHORTENER_SERVER_LINK_ROUTES_H
#define URL_SHORTENER_SERVER_LINK_ROUTES_H

#include <optional>
#include <string>
#include <vector>

#include <url_shortener/client.h>

#include "http_types.h"
#include "json_links.h"

namespace url_shortener::server {

/* What the routes need from the command line. */
struct LinkSettings {
    std::string base_url;               /* short URL = base_url + "/" + code */
    http::status redirect_status = http::status::found;
};

/* GET /{code}: the answer to resolve_url's outcome (the click is already
 * counted, on a redirect connection): the redirect to url, or 404. */
Response followed_link(const std::string &code, const std::optional<std::string> &url,
                       const LinkSettings &settings);

/* HEAD /{code}: the answer GET would give now, counting nothing
 * (resolve_without_click: expiry by the database's clock, as GET). */
Response check_link(Client &client, const std::string &code, const LinkSettings &settings);

/* GET /{code}/qr.svg or qr.png: the short URL as a QR code; 404 for an unknown code. */
Response link_qr(Client &client, const std::string &code, bool png, const LinkSettings &settings);

/* POST /api/v1/links: 201 with the link (also when link.options carries an
 * idempotency key that made it before: the repeat gets the first answer). */
Response create_link(Client &client, const NewLink &link, const LinkSettings &settings);

/* POST /api/v1/links/batch: 201 with every link in input order, or nothing
 * stored.  With idempotency_key, element n (1-based) is shortened under the
 * key "<idempotency_key>:<n>", so the same batch sent again returns the same
 * codes and stores nothing twice. */
Response create_links(Client &client, const std::vector<std::string> &urls,
                      const std::optional<std::string> &idempotency_key,
                      const LinkSettings &settings);


/*
 * What an If-Match header asks of a PATCH (RFC 9110, 13.1.1): any current
 * version ("*"), or one of the versions its strong entity tags name.  Weak
 * tags and tags that name no version of ours never match.
 */
struct IfMatch {
    bool any = false;
    std::vector<long long> versions;
};

/*
 * PATCH /api/v1/links/{code}: 200 with the new version if the link is at a
 * version if_match accepts; 412 if not.  One version is checked by the
 * update itself (412 if the link is at another); "*" or several read the
 * link's version first, and the update then checks that one: if another
 * edit was stored in between, the read and update are tried again (the
 * new version may still be one if_match accepts; "*" accepts any), up to
 * 32 times, then 503 (Retry-After: 1, US003), nothing done.
 */
Response edit_link(Client &client, const std::string &code, const std::string &new_url,
                   const IfMatch &if_match, const LinkSettings &settings);

/*
 * POST /api/v1/links/{code}/enable or /disable: 204, or 404 for an unknown
 * code.  With if_match (other than "*"), only while the link is at a
 * version it names, else 412, also when an edit comes in between
 * (Client::enable_at: with extension 1.5 one UPDATE that checks the
 * version, which a click does not disturb).  An unknown code is 404 with
 * any If-Match, "*" included: RFC 9110, 13.2.1, has a server ignore the
 * preconditions when the answer without them would not be 2xx.
 */
Response set_link_enabled(Client &client, const std::string &code, bool enabled,
                          const std::optional<IfMatch> &if_match);

/* DELETE /api/v1/links/{code}: 204, or 404; if_match as for set_link_enabled. */
Response delete_link(Client &client, const std::string &code,
                     const std::optional<IfMatch> &if_match);

/*
 * What an If-None-Match header asks (RFC 9110, 13.1.2): that the link
 * not exist ("*"), or not be at a version its entity tags name (weak
 * comparison: W/"3" names version 3 too).
 */
struct IfNoneMatch {
    bool any = false;
    std::vector<long long> versions;
};

/*
 * GET /api/v1/links/{code}: 200 with the stats and ETag "<version>"; 404.
 * With if_match (RFC 9110, 13.1.1; weak tags never match), 412 unless the
 * link is at a version it names; then with if_none_match, 304 (the ETag,
 * no body) if the link is at a version it names or it is "*".
 */
Response read_link(Client &client, const std::string &code, const LinkSettings &settings,
                   const std::optional<IfMatch> &if_match = std::nullopt,
                   const std::optional<IfNoneMatch> &if_none_match = std::nullopt);

/*
 * If-None-Match on a route that changes a link (PATCH, DELETE, /disable,
 * /enable): only "*" is taken, which an existing link never satisfies, so
 * the answer is 412 (404 for an unknown code, RFC 9110, 13.2.1) and
 * nothing is changed.  Throws the ProblemError to answer.
 */
[[noreturn]] void refuse_change_unless_absent(Client &client, const std::string &code);

/* GET /readyz on a worker: 200 if the database answers a query. */
Response database_ready(Client &client);

} // namespace url_shortener::server

#endif
