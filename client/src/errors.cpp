/*
 * errors.cpp
 *    The constructors of the url_shortener error types, and splitting a
 *    server report into its fields.
 */
#include "url_shortener/errors.h"
#include "severity_label.h"

#include <sstream>
#include <utility>

namespace url_shortener {

namespace {

/* Whether text begins with prefix (std::string::starts_with is C++20). */
bool starts_with(const std::string &text, const char *prefix)
{
    return text.rfind(prefix, 0) == 0;
}

} // namespace

ServerReport ServerReport::parse(const std::string &server_text)
{
    /*
     * libpq writes one field per line, "LABEL:  text"; a field's text may
     * run over several lines, which then carry no label.  Labels libpq adds
     * that are not kept (QUERY, LOCATION, STATEMENT) end the field before.
     */
    static const struct {
        const char *label;
        std::string ServerReport::*field;
    } labels[] = {
        {"ERROR:  ", &ServerReport::message},   {"FATAL:  ", &ServerReport::message},
        {"PANIC:  ", &ServerReport::message},   {"WARNING:  ", &ServerReport::message},
        {"DETAIL:  ", &ServerReport::detail},
        {"HINT:  ", &ServerReport::hint},       {"CONTEXT:  ", &ServerReport::context},
        {"QUERY:  ", nullptr},                  {"LOCATION:  ", nullptr},
        {"STATEMENT:  ", nullptr},
    };

    ServerReport report;
    std::string *current = nullptr;
    bool labelled = false;
    std::istringstream lines(server_text);
    std::string line;
    while (std::getline(lines, line)) {
        bool found = false;
        for (const auto &l : labels)
            if (starts_with(line, l.label)) {
                found = labelled = true;
                current = l.field ? &(report.*l.field) : nullptr;
                if (current) {
                    if (!current->empty())
                        *current += '\n';
                    *current += line.substr(std::char_traits<char>::length(l.label));
                }
                break;
            }
        if (found)
            continue;
        if (!labelled && report.message.empty()) {
            /* The severity in another language than the labels above
             * (the server's lc_messages); a client-side message (libpq's
             * own) has no label. */
            current = &report.message;
            labelled = true;
            *current = line.substr(severity_label_length(line));
        } else if (current && !line.empty()) {
            *current += '\n' + line;
        }
    }
    return report;
}

Error::Error(const std::string &what, std::string sqlstate, std::string server_message)
    : std::runtime_error(what), sqlstate_(std::move(sqlstate)),
      server_message_(std::move(server_message)), report_(ServerReport::parse(server_message_))
{
    if (report_.message.empty())
        report_.message = what;
}

Error::Error(const std::string &what, std::string sqlstate, ClientReport report)
    : std::runtime_error(what), sqlstate_(std::move(sqlstate))
{
    report_.message = what;
    report_.detail = std::move(report.detail);
    report_.hint = std::move(report.hint);
}

Error::Error(const std::string &what, std::string sqlstate, std::string server_message,
             std::string primary_message)
    : Error(what, std::move(sqlstate), std::move(server_message))
{
    report_.message = std::move(primary_message);
}

InvalidUrl::InvalidUrl(const std::string &what, std::string sqlstate, std::string server_message,
                       std::size_t batch_index)
    : InvalidInput(what, std::move(sqlstate), std::move(server_message)), batch_index_(batch_index)
{
}

InvalidUrl::InvalidUrl(const std::string &what, std::string sqlstate, std::size_t batch_index,
                       std::string reason)
    : InvalidInput(what, std::move(sqlstate), {}, std::move(reason)), batch_index_(batch_index)
{
}

OutcomeUnknown::OutcomeUnknown(const std::string &what, std::string sqlstate,
                               std::string server_message,
                               std::vector<std::string> idempotency_keys)
    : Error(what, std::move(sqlstate), std::move(server_message))
{
    if (!idempotency_keys.empty())
        idempotency_keys_ =
            std::make_shared<const std::vector<std::string>>(std::move(idempotency_keys));
}

const std::vector<std::string> &OutcomeUnknown::idempotency_keys() const noexcept
{
    static const std::vector<std::string> none;
    return idempotency_keys_ ? *idempotency_keys_ : none;
}

IdempotencyConflict::IdempotencyConflict(const std::string &what, std::string sqlstate,
                                         std::string server_message, std::size_t batch_index)
    : Error(what, std::move(sqlstate), std::move(server_message)), batch_index_(batch_index)
{
}

} // namespace url_shortener
