/*
 * check_constraint_cache.h
 *    The CHECK constraints of the tables the module's own statements write,
 *    parsed once per backend instead of once per statement.
 */
#ifndef URL_SHORTENER_CHECK_CONSTRAINT_CACHE_H
#define URL_SHORTENER_CHECK_CONSTRAINT_CACHE_H

/* url_shortener.parse_checks_once: whether the ExecutorStart hook acts. */
extern bool parse_checks_once_setting;

/* Installs the ExecutorStart hook; called once, from _PG_init. */
void install_check_constraint_cache(void);

#endif
