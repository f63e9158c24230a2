/*
 * output.h
 *    How url-shortener writes results on stdout: plain text (a code per
 *    line, CODE<TAB>URL for import, TAB-separated facts for stats) or, with
 *    --json, one JSON object per line (one per link; stats and purge one
 *    object), written with Boost.JSON.  --base-url turns codes into full
 *    short URLs in the text form and adds "short_url" in the JSON form.
 */
#ifndef URL_SHORTENER_CLI_OUTPUT_H
#define URL_SHORTENER_CLI_OUTPUT_H

#include <optional>
#include <ostream>
#include <string>

#include <boost/json/object.hpp>

#include "url_shortener/client.h"

namespace url_shortener::cli {

class Output {
public:
    Output(std::ostream &out, bool json, std::string base_url);

    bool json() const { return json_; }

    /* base_url joined with code ("https://s.example/" + "Ab3x9Q"), or code without --base-url. */
    std::string short_form(const std::string &code) const;

    /*
     * A new link: its code (or short URL) alone, or with --json
     * {"code", "url", "short_url"?, "line"?}.  with_url adds "<TAB>url" to
     * the text form (import).
     */
    void link(const std::string &code, const std::string &url, bool with_url,
              std::optional<std::size_t> line = std::nullopt);

    /* A resolved link: the URL, or {"code", "url"}. */
    void resolved(const std::string &code, const std::string &url);

    /* stats: TAB-separated facts, or one object. */
    void stats(const LinkStats &st);

    /* Any other result: text as given, or the object. */
    void result(const std::string &text, const boost::json::object &object);

    /* Flushes; false if the output is lost (a full disk, a closed pipe),
     * the write's error kept for report_lost. */
    bool flush();

    /*
     * Says on stderr, in one line, that the output is lost, with the
     * write's error and what is done despite it (done, if not empty:
     * "stored ..."); once said, lost_reported() is true.
     */
    void report_lost(const std::string &done);
    bool lost_reported() const { return lost_reported_; }

private:
    std::ostream &out_;
    bool json_;
    std::string base_url_;
    int lost_errno_ = 0;
    bool lost_reported_ = false;
};

} // namespace url_shortener::cli

#endif
