/*
 * settings.cpp
 *    Defines the url_shortener.* parameters and validates them.
 *
 *    Every one needs superuser (SUSET): code_length, alphabet and
 *    max_attempts decide what the SECURITY DEFINER functions draw and how
 *    often they try (a caller must not squat the code space with short
 *    codes or make one call burn a thousand transaction IDs);
 *    max_url_length is an administrator's limit; test_seed makes codes
 *    predictable; parse_checks_once changes how the functions' statements
 *    prepare the table's CHECK constraints (not which ones they check).
 */
#include "settings.h"

#include "check_constraint_cache.h"
#include "code_alphabet.h"
#include "code_generator.h"
#include "direct_insert.h"
#include "postgres_headers.h"

extern "C" {
#include "catalog/pg_parameter_acl.h"
#include "utils/acl.h"
#include "utils/guc_tables.h"
}

int code_length_setting = 6;
char *alphabet_setting = nullptr;
int max_attempts_setting = 5;
int max_url_length_setting = 2048;

static int test_seed_setting = -1;

/* Refuses an alphabet that could make ambiguous, biased or unsafe codes. */
static bool
check_alphabet_setting(char **newval, void **extra, GucSource source) noexcept
{
    const url_shortener::AlphabetVerdict v = url_shortener::check_alphabet(*newval);

    switch (v.problem) {
        case url_shortener::AlphabetProblem::none:
            return true;
        case url_shortener::AlphabetProblem::too_short:
            GUC_check_errdetail("An alphabet needs at least 2 characters.");
            break;
        case url_shortener::AlphabetProblem::too_long:
            GUC_check_errdetail("An alphabet has at most %d characters.",
                                (int) url_shortener::max_alphabet_size);
            break;
        case url_shortener::AlphabetProblem::duplicate:
            GUC_check_errdetail("Character \"%c\" appears more than once.", v.character);
            break;
        case url_shortener::AlphabetProblem::not_url_safe:
            if (v.character > 0x20 && v.character < 0x7f)
                GUC_check_errdetail("Character \"%c\" is not URL-safe.", v.character);
            else
                GUC_check_errdetail("Byte 0x%02x is not URL-safe.",
                                    (unsigned) (unsigned char) v.character);
            break;
    }
    GUC_check_errhint("Use distinct characters from A-Z, a-z, 0-9, \"-\", \".\", \"_\" and \"~\".");
    return false;
}

static void
assign_test_seed(int newval, void *extra) noexcept
{
    reseed_code_generator(newval);
}

/* The parameter or placeholder name (any case), or NULL. */
static struct config_generic *
find_setting(const char *name)
{
    struct config_generic **variables = get_guc_variables();
    const int count = GetNumConfigOptions();

    for (int i = 0; i < count; i++)
        if (pg_strcasecmp(variables[i]->name, name) == 0)
            return variables[i];
    return NULL;
}

/*
 * Whether the placeholder of name holds a value from the connection's
 * options (PGOPTIONS, options=), and whose: read before the parameter is
 * defined, which applies it again with that role's privileges.
 */
typedef struct ConnectionSetting {
    bool present;
    Oid role;
} ConnectionSetting;

static ConnectionSetting
connection_setting(const char *name)
{
    const struct config_generic *placeholder = find_setting(name);
    ConnectionSetting setting = {false, InvalidOid};

    if (placeholder != NULL && placeholder->reset_source == PGC_S_CLIENT) {
        setting.present = true;
        setting.role = placeholder->reset_srole;
    }
    return setting;
}

/*
 * Ends the session if the connection's options set name and defining it
 * refused the value (a WARNING before this).  A placeholder keeps one
 * value: the connection's replaced the administrator's (postgresql.conf,
 * ALTER SYSTEM, ALTER DATABASE or ROLE ... SET), so the session would go
 * on with the built-in default, and a role without the right to set the
 * parameter could undo the administrator's limit that way.  Loaded at
 * connection time (shared_preload_libraries) PostgreSQL refuses such a
 * connection itself, with the same message.
 */
static void
refuse_lost_connection_setting(const char *name, ConnectionSetting before)
{
    const struct config_generic *defined = find_setting(name);

    if (!before.present || (defined != NULL && defined->reset_source == PGC_S_CLIENT))
        return;
    if (!superuser_arg(before.role) &&
        pg_parameter_aclcheck(name, before.role, ACL_SET) != ACLCHECK_OK)
        ereport(FATAL,
                (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                 errmsg("permission denied to set parameter \"%s\"", name),
                 errdetail("The connection's options set it; the value the administrator set could not be kept in its place."),
                 errhint("Connect without url_shortener settings in the options (PGOPTIONS, options=).")));
    ereport(FATAL,
            (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
             errmsg("invalid value for parameter \"%s\" in the connection's options", name),
             errdetail("The value was refused when url_shortener was loaded; the value the administrator set could not be kept in its place."),
             errhint("Connect with a valid value, or without it in the options (PGOPTIONS, options=).")));
}

void
define_settings(void)
{
    static const char *const names[] = {
        "url_shortener.code_length", "url_shortener.alphabet", "url_shortener.max_attempts",
        "url_shortener.max_url_length", "url_shortener.test_seed",
        "url_shortener.parse_checks_once", "url_shortener.direct_insert",
    };
    ConnectionSetting before[lengthof(names)];

    for (size_t i = 0; i < lengthof(names); i++)
        before[i] = connection_setting(names[i]);

    DefineCustomIntVariable("url_shortener.code_length",
                            "Number of characters in a generated short code.",
                            NULL,
                            &code_length_setting,
                            6, 1, MAX_CODE_LENGTH,
                            PGC_SUSET, 0,
                            NULL, NULL, NULL);

    DefineCustomStringVariable("url_shortener.alphabet",
                               "Characters generated short codes are drawn from.",
                               "2 to 66 distinct characters from A-Z, a-z, 0-9, \"-\", \".\", \"_\" and \"~\".",
                               &alphabet_setting,
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                               PGC_SUSET, 0,
                               check_alphabet_setting, NULL, NULL);

    DefineCustomIntVariable("url_shortener.max_attempts",
                            "Codes drawn by one call before it gives up with SQLSTATE US001.",
                            NULL,
                            &max_attempts_setting,
                            5, 1, 1000,
                            PGC_SUSET, 0,
                            NULL, NULL, NULL);

    DefineCustomIntVariable("url_shortener.max_url_length",
                            "Longest URL accepted, in bytes.",
                            NULL,
                            &max_url_length_setting,
                            2048, 16, 1048576,
                            PGC_SUSET, GUC_UNIT_BYTE,
                            NULL, NULL, NULL);

    DefineCustomIntVariable("url_shortener.test_seed",
                            "For tests only: draw codes from a seeded pseudo-random sequence.",
                            "-1, the default, draws from the operating system's cryptographically "
                            "strong generator. Setting a value restarts the sequence.",
                            &test_seed_setting,
                            -1, -1, INT_MAX,
                            PGC_SUSET, GUC_NOT_IN_SAMPLE,
                            NULL, assign_test_seed, NULL);

    DefineCustomBoolVariable("url_shortener.parse_checks_once",
                             "Reads the CHECK constraints of the tables the functions write once per session.",
                             "Off, every statement the functions run reads the stored constraint texts "
                             "anew, as PostgreSQL does by itself. Either way the same constraints are checked.",
                             &parse_checks_once_setting,
                             true,
                             PGC_SUSET, 0,
                             NULL, NULL, NULL);

    DefineCustomBoolVariable("url_shortener.direct_insert",
                             "Writes a new link straight to the table and its indexes, without an executor for its INSERT.",
                             "Only where the executor would do nothing more: no user code on the tables, "
                             "no Citus, a writable transaction. Off, every link goes in through an SPI "
                             "INSERT. Either way the same row is stored and the same constraints are checked.",
                             &direct_insert_setting,
                             true,
                             PGC_SUSET, 0,
                             NULL, NULL, NULL);

    MarkGUCPrefixReserved("url_shortener");

    for (size_t i = 0; i < lengthof(names); i++)
        refuse_lost_connection_setting(names[i], before[i]);
}
