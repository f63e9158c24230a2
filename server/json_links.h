/*
 * json_links.h
 *    The REST API's JSON: reading the bodies of POST and PATCH requests
 *    (strictly: an unknown member, a member given twice, a wrong type or
 *    malformed JSON is a 400 naming the problem) and writing links and
 *    their stats.
 */
#ifndef URL_SHORTENER_SERVER_JSON_LINKS_H
#define URL_SHORTENER_SERVER_JSON_LINKS_H

#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <url_shortener/client.h>

namespace url_shortener::server {

/* POST /api/v1/links: {"url", "alias"?, "reuse"?, "expires_at"?, "max_clicks"?} */
struct NewLink {
    std::string url;
    LinkOptions options;
};

/* Each throws ProblemError (400) when body is not the object described. */
NewLink parse_new_link(const std::string &body);
std::vector<std::string> parse_batch(const std::string &body);   /* {"urls": [...]} */
std::string parse_new_url(const std::string &body);              /* PATCH: {"url"} */

/* {"code", "short_url", "url", and the options that were given} */
boost::json::object link_json(const std::string &code, const std::string &short_url,
                              const NewLink &link);

/* {"code", "short_url", "url", "clicks", "created_at", "expires_at", "max_clicks",
 *  "version", "enabled"}; absent limits are null. */
boost::json::object stats_json(const LinkStats &stats, const std::string &short_url);

} // namespace url_shortener::server

#endif
