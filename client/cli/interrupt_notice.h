/*
 * interrupt_notice.h
 *    What an interrupt says once the database has done the work: after an
 *    import's COMMIT, Ctrl-C (SIGINT) or SIGTERM must not end the tool
 *    silently while it is still printing codes, as if nothing were stored.
 */
#ifndef URL_SHORTENER_CLI_INTERRUPT_NOTICE_H
#define URL_SHORTENER_CLI_INTERRUPT_NOTICE_H

#include <string>

namespace url_shortener::cli {

/*
 * From now until the process ends, SIGINT and SIGTERM write notice (one
 * line, made now: the handler only writes it) to stderr, then end the
 * process by that signal, as it would have ended without the notice (a
 * shell reports 130 or 143).  A signal ignored when the tool started stays
 * ignored.  Called once.
 */
void say_on_interrupt(std::string notice);

} // namespace url_shortener::cli

#endif
