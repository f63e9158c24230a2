/*
 * duplicate_members.cpp
 *    A pass of Boost.JSON's validating parser whose handler keeps, for
 *    each object still open, the names it has seen.
 */
#include "duplicate_members.h"

#include <cstdint>
#include <unordered_set>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>

namespace url_shortener::server {

namespace {

namespace json = boost::json;

/* The handler basic_parser calls (its requirements: basic_parser.hpp). */
struct MemberNames {
    static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

    std::vector<std::unordered_set<std::string>> open;   /* one per object not yet ended */
    std::string name;                                    /* the name being read */
    std::optional<std::string> duplicate;

    bool on_object_begin(json::error_code &)
    {
        open.emplace_back();
        return true;
    }
    bool on_object_end(std::size_t, json::error_code &)
    {
        open.pop_back();
        return true;
    }
    bool on_key_part(json::string_view part, std::size_t, json::error_code &)
    {
        name.append(part.data(), part.size());
        return true;
    }
    bool on_key(json::string_view last, std::size_t, json::error_code &ec)
    {
        name.append(last.data(), last.size());
        if (!open.back().insert(name).second) {
            duplicate = std::move(name);
            ec = json::error::incomplete;   /* any error: it ends the pass */
            return false;
        }
        name.clear();
        return true;
    }

    bool on_document_begin(json::error_code &) { return true; }
    bool on_document_end(json::error_code &) { return true; }
    bool on_array_begin(json::error_code &) { return true; }
    bool on_array_end(std::size_t, json::error_code &) { return true; }
    bool on_string_part(json::string_view, std::size_t, json::error_code &) { return true; }
    bool on_string(json::string_view, std::size_t, json::error_code &) { return true; }
    bool on_number_part(json::string_view, json::error_code &) { return true; }
    bool on_int64(std::int64_t, json::string_view, json::error_code &) { return true; }
    bool on_uint64(std::uint64_t, json::string_view, json::error_code &) { return true; }
    bool on_double(double, json::string_view, json::error_code &) { return true; }
    bool on_bool(bool, json::error_code &) { return true; }
    bool on_null(json::error_code &) { return true; }
    bool on_comment_part(json::string_view, json::error_code &) { return true; }
    bool on_comment(json::string_view, json::error_code &) { return true; }
};

} // namespace

std::optional<std::string> first_duplicate_member(std::string_view text)
{
    json::basic_parser<MemberNames> parser(json::parse_options{});
    json::error_code ec;
    parser.write_some(false, text.data(), text.size(), ec);
    return parser.handler().duplicate;
}

} // namespace url_shortener::server
