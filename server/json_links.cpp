/*
 * json_links.cpp
 *    Reading and writing the REST API's JSON (see json_links.h).
 */
#include "json_links.h"

#include <boost/json.hpp>

#include "duplicate_members.h"
#include "problem.h"
#include "url_shortener/rfc3339.h"

namespace url_shortener::server {

namespace json = boost::json;

namespace {

/* The body as a JSON object, or a 400 saying why not. */
json::object parse_object(const std::string &body)
{
    json::error_code ec;
    json::value value = json::parse(body, ec);
    if (ec)
        throw bad_request("The body is not valid JSON: " + ec.message() + ".");
    if (!value.is_object())
        throw bad_request("The body must be a JSON object.");
    if (const std::optional<std::string> twice = first_duplicate_member(body))
        throw bad_request("The member \"" + *twice + "\" is given twice.");
    return std::move(value.as_object());
}

/* Refuses members other than those allowed, so a misspelt option is not silently ignored. */
void only_members(const json::object &object, std::initializer_list<const char *> allowed)
{
    for (const auto &member : object) {
        bool known = false;
        for (const char *name : allowed)
            known = known || member.key() == name;
        if (!known)
            throw bad_request("Unknown member \"" + std::string(member.key()) + "\".");
    }
}

/* The required string member name. */
std::string required_string(const json::object &object, const char *name)
{
    const json::value *value = object.if_contains(name);
    if (value == nullptr)
        throw bad_request(std::string("The member \"") + name + "\" is required.");
    if (!value->is_string())
        throw bad_request(std::string("The member \"") + name + "\" must be a string.");
    return std::string(value->as_string());
}

} // namespace

NewLink parse_new_link(const std::string &body)
{
    const json::object object = parse_object(body);
    only_members(object, {"url", "alias", "reuse", "expires_at", "max_clicks"});
    NewLink link;
    link.url = required_string(object, "url");
    if (const json::value *alias = object.if_contains("alias"); alias && !alias->is_null()) {
        if (!alias->is_string())
            throw bad_request("The member \"alias\" must be a string.");
        link.options.alias = std::string(alias->as_string());
    }
    if (const json::value *reuse = object.if_contains("reuse"); reuse && !reuse->is_null()) {
        if (!reuse->is_bool())
            throw bad_request("The member \"reuse\" must be true or false.");
        link.options.reuse = reuse->as_bool();
    }
    if (const json::value *expires = object.if_contains("expires_at"); expires && !expires->is_null()) {
        std::optional<std::chrono::system_clock::time_point> when;
        if (expires->is_string())
            when = parse_rfc3339(expires->as_string());
        if (!when)
            throw bad_request("The member \"expires_at\" must be an RFC 3339 date-time "
                              "before 2262-04-11T23:47:16Z (where the server's clock ends), "
                              "such as \"2030-01-31T12:00:00Z\".");
        link.options.expires_at = when;
    }
    if (const json::value *max = object.if_contains("max_clicks"); max && !max->is_null()) {
        if (max->is_int64())
            link.options.max_clicks = max->as_int64();
        else if (max->is_uint64())
            throw bad_request("The member \"max_clicks\" is too large.");
        else
            throw bad_request("The member \"max_clicks\" must be an integer.");
    }
    return link;
}

std::vector<std::string> parse_batch(const std::string &body)
{
    const json::object object = parse_object(body);
    only_members(object, {"urls"});
    const json::value *urls = object.if_contains("urls");
    if (urls == nullptr || !urls->is_array())
        throw bad_request("The member \"urls\" is required and must be an array of strings.");
    std::vector<std::string> result;
    result.reserve(urls->as_array().size());
    for (const json::value &url : urls->as_array()) {
        if (!url.is_string())
            throw bad_request("Every element of \"urls\" must be a string (element " +
                              std::to_string(result.size() + 1) + " is not).");
        result.emplace_back(url.as_string());
    }
    return result;
}

std::string parse_new_url(const std::string &body)
{
    const json::object object = parse_object(body);
    only_members(object, {"url"});
    return required_string(object, "url");
}

json::object link_json(const std::string &code, const std::string &short_url, const NewLink &link)
{
    json::object out;
    out["code"] = code;
    out["short_url"] = short_url;
    out["url"] = link.url;
    if (link.options.alias)
        out["alias"] = *link.options.alias;
    if (link.options.reuse)
        out["reuse"] = true;
    if (link.options.expires_at)
        out["expires_at"] = format_rfc3339(*link.options.expires_at);
    if (link.options.max_clicks)
        out["max_clicks"] = *link.options.max_clicks;
    return out;
}

json::object stats_json(const LinkStats &stats, const std::string &short_url)
{
    json::object out;
    out["code"] = stats.code;
    out["short_url"] = short_url;
    out["url"] = stats.url;
    out["clicks"] = stats.clicks;
    out["created_at"] = format_rfc3339(stats.created_at);
    if (stats.expires_at)
        out["expires_at"] = format_rfc3339(*stats.expires_at);
    else
        out["expires_at"] = nullptr;
    if (stats.max_clicks)
        out["max_clicks"] = *stats.max_clicks;
    else
        out["max_clicks"] = nullptr;
    out["version"] = stats.version;
    out["enabled"] = stats.enabled;
    return out;
}

} // namespace url_shortener::server
