/*
 * link_options.cpp
 *    Checks of the optional arguments of shorten_url and shorten_url_locked.
 */
#include "link_options.h"

#include "reserved_codes.h"

extern "C" {
#include "utils/timestamp.h"
}

static bool
is_alias_character(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

bool
alias_argument(FunctionCallInfo fcinfo, int argno, char *alias)
{
    if (PG_ARGISNULL(argno))
        return false;

    text *value = PG_GETARG_TEXT_PP(argno);
    const char *data = VARDATA_ANY(value);
    const int length = VARSIZE_ANY_EXHDR(value);

    /*
     * The characters first, so that an alias of letters outside ASCII hears
     * of them rather than of its length in bytes; past them, the length in
     * bytes is the length in characters.
     */
    for (int i = 0; i < length; i++)
        if (!is_alias_character(data[i]))
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("alias contains a character that is not allowed"),
                     errdetail("The byte at position %d is 0x%02x.", i + 1,
                               (unsigned) (unsigned char) data[i]),
                     errhint("An alias uses only A-Z, a-z, 0-9, \"_\" and \"-\".")));
    if (length == 0 || length > MAX_ALIAS_LENGTH)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("alias must be 1 to %d characters long", MAX_ALIAS_LENGTH),
                 errdetail("The alias has %d characters.", length)));

    memcpy(alias, data, length);
    alias[length] = '\0';
    if (is_reserved_word(alias))
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("alias \"%s\" is reserved", alias),
                 errhint("Choose another alias; the README lists the reserved words.")));
    return true;
}

void
limits_arguments(FunctionCallInfo fcinfo, int expires_argno, int max_clicks_argno,
                 bool check_expiry, LinkLimits *limits)
{
    limits->has_expiry = !PG_ARGISNULL(expires_argno);
    limits->expires_at = limits->has_expiry ? PG_GETARG_DATUM(expires_argno) : (Datum) 0;
    limits->has_max_clicks = !PG_ARGISNULL(max_clicks_argno);
    limits->max_clicks = limits->has_max_clicks ? PG_GETARG_DATUM(max_clicks_argno) : (Datum) 0;

    if (check_expiry)
        ensure_expiry_in_future(limits);
    if (limits->has_max_clicks && DatumGetInt64(limits->max_clicks) < 1)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("max_clicks must be at least 1"),
                 errdetail("It is " INT64_FORMAT ".", DatumGetInt64(limits->max_clicks))));
}

void
ensure_expiry_in_future(const LinkLimits *limits)
{
    if (limits->has_expiry &&
        DatumGetTimestampTz(limits->expires_at) <= GetCurrentTransactionStartTimestamp())
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("expires_at must be in the future"),
                 errdetail("It must be later than the start of the current transaction.")));
}
