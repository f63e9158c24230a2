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
 * line, made now: the handler only writes it) to stderr and end the
 * process with 128 + the signal's number, as a shell reports a process a
 * signal ended.  Called once.
 */
void say_on_interrupt(std::string notice);

} // namespace url_shortener::cli

#endif
