/*
 * statement_results.cpp
 *    Decoding what the statements return; shared by Client and
 *    InTransaction.
 */
#include "statement_results.h"

#include <pqxx/row>

#include "statement_values.h"
#include "url_shortener/errors.h"

namespace url_shortener {

std::string single_code(const pqxx::result &rows)
{
    return rows.at(0).at(0).as<std::string>();
}

std::optional<std::string> optional_text(const pqxx::result &rows)
{
    const pqxx::field f = rows.at(0).at(0);
    if (f.is_null())
        return std::nullopt;
    return f.as<std::string>();
}

std::optional<long long> optional_number(const pqxx::result &rows)
{
    const pqxx::field f = rows.at(0).at(0);
    if (f.is_null())
        return std::nullopt;
    return f.as<long long>();
}

long long number_result(const pqxx::result &rows)
{
    return rows.at(0).at(0).as<long long>();
}

bool true_result(const pqxx::result &rows)
{
    const pqxx::field f = rows.at(0).at(0);
    return !f.is_null() && f.as<bool>();
}

std::optional<LinkStats> optional_stats(const pqxx::result &rows)
{
    if (rows.empty())
        return std::nullopt;
    return stats_from_row(rows[0]);
}

LinkStats stats_from_row(const pqxx::row &r)
{
    LinkStats st;
    st.code = r[0].as<std::string>();
    st.url = r[1].as<std::string>();
    st.clicks = r[2].as<long long>();
    st.created_at = from_unix_microseconds(r[3].as<long long>());
    if (!r[4].is_null())
        st.expires_at = from_unix_microseconds(r[4].as<long long>());
    if (!r[5].is_null())
        st.max_clicks = r[5].as<long long>();
    st.version = r[6].as<long long>();
    st.enabled = r[7].as<bool>();
    return st;
}

void append_chunk_codes(const pqxx::result &rows, std::size_t urls_sent,
                        std::vector<std::string> &codes)
{
    if (rows.size() != urls_sent)
        throw ServerError("the server returned " + std::to_string(rows.size()) + " codes for " +
                          std::to_string(urls_sent) + " urls");
    for (const pqxx::row &row : rows)
        codes.push_back(row.at(0).as<std::string>());
}

ServerError needs_version(const std::string &call, const char *needed,
                          const std::string &installed)
{
    return ServerError(call + " needs url_shortener " + needed + ", the database has " + installed,
                       "0A000",
                       ClientReport({}, "Run ALTER EXTENSION url_shortener UPDATE in the database."));
}

} // namespace url_shortener
