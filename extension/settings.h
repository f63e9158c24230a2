/*
 * settings.h
 *    The url_shortener.* configuration parameters (GUCs).
 */
#ifndef URL_SHORTENER_SETTINGS_H
#define URL_SHORTENER_SETTINGS_H

/* Characters in a generated code (url_shortener.code_length). */
extern int code_length_setting;

/* Characters a code is drawn from (url_shortener.alphabet). */
extern char *alphabet_setting;

/* Draws per call before giving up (url_shortener.max_attempts). */
extern int max_attempts_setting;

/* Longest URL accepted, in bytes (url_shortener.max_url_length). */
extern int max_url_length_setting;

/* Defines every parameter and reserves the prefix; called from _PG_init. */
void define_settings(void);

#endif
