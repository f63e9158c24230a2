/*
 * interrupt_notice.h
 *    What an interrupt of an import says about what it leaves: nothing
 *    stored before its COMMIT is sent, an unknown outcome while the COMMIT
 *    is in flight, every link stored once it is answered.  Ctrl-C (SIGINT)
 *    or SIGTERM must not end the tool silently when the links may exist.
 */
#ifndef URL_SHORTENER_CLI_INTERRUPT_NOTICE_H
#define URL_SHORTENER_CLI_INTERRUPT_NOTICE_H

#include <string>

namespace url_shortener::cli {

/*
 * From now until the process ends, or the next call replaces it, SIGINT
 * and SIGTERM write notice (one line, made now: the handler only writes
 * it) to stderr, then end the process by that signal, as it would have
 * ended without the notice (a shell reports 130 or 143).  A signal ignored
 * when the tool started stays ignored.  Not for use from several threads.
 */
void say_on_interrupt(std::string notice);

} // namespace url_shortener::cli

#endif
