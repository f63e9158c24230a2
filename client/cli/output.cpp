/*
 * output.cpp
 *    Text and JSON forms of url-shortener's results (output.h).
 */
#include "output.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <iostream>

#include <boost/json/serialize.hpp>

namespace url_shortener::cli {

namespace {

/* A time as UTC ISO 8601, to the second. */
std::string utc(std::chrono::system_clock::time_point t)
{
    /* What the client library reads for a time past the clock's range. */
    if (t == std::chrono::system_clock::time_point::max())
        return "infinity";
    if (t == std::chrono::system_clock::time_point::min())
        return "-infinity";
    const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
}

} // namespace

Output::Output(std::ostream &out, bool json, std::string base_url)
    : out_(out), json_(json), base_url_(std::move(base_url))
{
}

bool Output::flush()
{
    errno = 0;
    out_.flush();
    if (out_)
        return true;
    if (lost_errno_ == 0)
        lost_errno_ = errno;
    return false;
}

void Output::report_lost(const std::string &done)
{
    std::cerr << "url-shortener: could not write the output"
              << (lost_errno_ ? std::string(": ") + std::strerror(lost_errno_) : std::string())
              << (done.empty() ? std::string() : "; " + done) << '\n';
    lost_reported_ = true;
}

std::string Output::short_form(const std::string &code) const
{
    if (base_url_.empty())
        return code;
    return base_url_ + (base_url_.back() == '/' ? "" : "/") + code;
}

void Output::link(const std::string &code, const std::string &url, bool with_url,
                  std::optional<std::size_t> line)
{
    if (json_) {
        boost::json::object o{{"code", code}, {"url", url}};
        if (!base_url_.empty())
            o["short_url"] = short_form(code);
        if (line)
            o["line"] = *line;
        out_ << boost::json::serialize(o) << '\n';
        return;
    }
    out_ << short_form(code);
    if (with_url)
        out_ << '\t' << url;
    out_ << '\n';
}

void Output::resolved(const std::string &code, const std::string &url)
{
    if (json_)
        out_ << boost::json::serialize(boost::json::object{{"code", code}, {"url", url}}) << '\n';
    else
        out_ << url << '\n';
}

void Output::stats(const LinkStats &st)
{
    if (json_) {
        boost::json::object o{{"code", st.code},
                              {"url", st.url},
                              {"clicks", st.clicks},
                              {"created", utc(st.created_at)},
                              {"expires", nullptr},
                              {"max_clicks", nullptr},
                              {"version", st.version},
                              {"enabled", st.enabled}};
        if (st.expires_at)
            o["expires"] = utc(*st.expires_at);
        if (st.max_clicks)
            o["max_clicks"] = *st.max_clicks;
        if (!base_url_.empty())
            o["short_url"] = short_form(st.code);
        out_ << boost::json::serialize(o) << '\n';
        return;
    }
    out_ << "code\t" << st.code << "\nurl\t" << st.url << "\nclicks\t" << st.clicks
         << "\ncreated\t" << utc(st.created_at) << "\nexpires\t"
         << (st.expires_at ? utc(*st.expires_at) : "never") << "\nmax_clicks\t"
         << (st.max_clicks ? std::to_string(*st.max_clicks) : "none") << "\nversion\t"
         << st.version << "\nenabled\t" << (st.enabled ? "yes" : "no") << '\n';
}

void Output::result(const std::string &text, const boost::json::object &object)
{
    if (json_)
        out_ << boost::json::serialize(object) << '\n';
    else
        out_ << text << '\n';
}

} // namespace url_shortener::cli
