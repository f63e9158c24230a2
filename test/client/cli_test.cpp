/*
 * cli_test.cpp
 *    The url-shortener command, run as a program: what it prints on stdout
 *    and the exit code it returns for each outcome.
 */
#include <fcntl.h>
#include <sys/wait.h>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <future>
#include <thread>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "commit_cutting_proxy.h"
#include "commit_hang.h"
#include "killed_backend.h"
#include "silent_listener.h"
#include "test_database.h"
#include "url_shortener/version.h"

using namespace url_shortener::test;

namespace {

struct CliRun {
    int status;
    std::string out;
    std::string err;
};

std::string quoted(const std::string &word)
{
    std::string q = "'";
    for (const char c : word)
        q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

std::filesystem::path scratch_file(const std::string &name)
{
    return std::filesystem::temp_directory_path() /
           ("url_shortener_cli_test_" + std::to_string(getpid()) + "_" + name);
}

std::string read_file(const std::filesystem::path &path)
{
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/* What bash prints for script, run after sourcing the CLI's completion. */
std::string with_completion(const std::string &script)
{
    const std::string whole = "source " + quoted(URL_SHORTENER_BASH_COMPLETION) + "; " + script;
    FILE *pipe = popen(("bash -c " + quoted(whole)).c_str(), "r");
    if (!pipe)
        return "(bash could not be started)";
    std::string out;
    std::array<char, 4096> buffer;
    std::size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        out.append(buffer.data(), n);
    pclose(pipe);
    return out;
}

/*
 * Runs url-shortener with args against the test database; environment is
 * put before the command (e.g. "PGOPTIONS='...'"), input after it (e.g.
 * "< file"), and shell (e.g. "ulimit -v 100000; yes |") before all.
 */
CliRun run(const std::vector<std::string> &args, const std::string &environment = {},
        const std::string &input = "< /dev/null", const std::string &shell = {})
{
    const std::filesystem::path err = scratch_file("stderr");
    std::string command = shell + " PGDATABASE=" + std::string(database_name) + " " +
                          environment + " " + quoted(URL_SHORTENER_CLI);
    for (const std::string &arg : args)
        command += " " + quoted(arg);
    command += " " + input + " 2>" + quoted(err.string());

    FILE *pipe = popen(command.c_str(), "r");
    if (!pipe)
        throw std::runtime_error("popen failed");
    std::string out;
    std::array<char, 4096> buffer;
    std::size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        out.append(buffer.data(), n);
    const int status = pclose(pipe);
    CliRun result{WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, read_file(err)};
    std::filesystem::remove(err);
    return result;
}

std::vector<std::string> lines(const std::string &text)
{
    std::vector<std::string> result;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        result.push_back(line);
    return result;
}

/* An error is one line on stderr, naming the program. */
void expect_one_error_line(const CliRun &r)
{
    EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("url-shortener: ", 0), 0u) << r.err;
}

} // namespace

TEST(Cli, ShortenPrintsACodeThatResolvePrintsBack)
{
    const std::string url = unique_url("cli");
    const CliRun shortened = run({"shorten", url});
    ASSERT_EQ(shortened.status, 0) << shortened.err;
    const std::vector<std::string> codes = lines(shortened.out);
    ASSERT_EQ(codes.size(), 1u);
    EXPECT_EQ(codes[0].size(), 6u);

    const CliRun resolved = run({"resolve", codes[0]});
    EXPECT_EQ(resolved.status, 0) << resolved.err;
    EXPECT_EQ(resolved.out, url + "\n");
}

/* An alias may begin with "-": after "--" it is a code, not an option. */
TEST(Cli, ACodeThatBeginsWithADashGoesAfterTwoDashes)
{
    const std::string url = unique_url("cli-dash");
    const std::string alias = "-dash" + std::to_string(getpid());
    const CliRun shortened = run({"shorten", "--alias=" + alias, url});
    ASSERT_EQ(shortened.status, 0) << shortened.err;
    EXPECT_EQ(shortened.out, alias + "\n");
    const CliRun resolved = run({"resolve", "--", alias});
    EXPECT_EQ(resolved.status, 0) << resolved.err;
    EXPECT_EQ(resolved.out, url + "\n");
    const CliRun without = run({"resolve", alias});
    EXPECT_EQ(without.status, 2) << without.err;   // taken for an option: a usage error
    EXPECT_EQ(clicks(alias), 1);
}

TEST(Cli, ShortenSeveralUrlsPrintsOneCodeEach)
{
    const CliRun r = run({"shorten", unique_url("cli-several", 1), unique_url("cli-several", 2)});
    EXPECT_EQ(r.status, 0) << r.err;
    const std::vector<std::string> codes = lines(r.out);
    ASSERT_EQ(codes.size(), 2u);
    EXPECT_NE(codes[0], codes[1]);
    for (std::size_t i = 0; i < codes.size(); i++) {   /* in the order of the arguments */
        const CliRun resolved = run({"resolve", codes[i]});
        EXPECT_EQ(resolved.status, 0) << resolved.err;
        EXPECT_EQ(resolved.out, unique_url("cli-several", i + 1) + "\n");
    }
}

TEST(Cli, ShortenLocked)
{
    const std::string url = unique_url("cli-locked");
    const CliRun r = run({"shorten", "--locked", url});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(run({"resolve", lines(r.out).at(0)}).out, url + "\n");
}

TEST(Cli, ResolveUnknownCodeExitsOne)
{
    const CliRun r = run({"resolve", "no-such-code"});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "");
    expect_one_error_line(r);
}

TEST(Cli, InvalidUrlExitsThree)
{
    const CliRun r = run({"shorten", "ftp://example.com/"});
    EXPECT_EQ(r.status, 3);
    EXPECT_EQ(r.out, "");
    expect_one_error_line(r);
}

TEST(Cli, ExhaustedCodeSpaceExitsFourAndStoresNone)
{
    /* Alphabet "cd": a code space no other test uses; three URLs, two codes. */
    const std::string tiny = "PGOPTIONS=" + quoted("-c url_shortener.code_length=1 "
                                                   "-c url_shortener.alphabet=cd "
                                                   "-c url_shortener.max_attempts=200");
    const CliRun r = run({"shorten", unique_url("cli-exhaust", 1), unique_url("cli-exhaust", 2),
                       unique_url("cli-exhaust", 3)},
                      tiny);
    EXPECT_EQ(r.status, 4);
    EXPECT_EQ(r.out, "");   /* several plain URLs are stored all or none */
    expect_one_error_line(r);
    EXPECT_EQ(links_to(unique_url("cli-exhaust", 1)), 0);

    /* One at a time (--locked), the first two fit and the message says so. */
    const CliRun one_by_one = run({"shorten", "--locked", unique_url("cli-exhaust", 1),
                                   unique_url("cli-exhaust", 2), unique_url("cli-exhaust", 3)},
                                  tiny);
    EXPECT_EQ(one_by_one.status, 4);
    EXPECT_EQ(lines(one_by_one.out).size(), 2u);
    expect_one_error_line(one_by_one);
    EXPECT_NE(one_by_one.err.find("stored the first 2 of 3 URLs"), std::string::npos)
        << one_by_one.err;
}

TEST(Cli, ImportFromAFilePrintsCodeTabUrl)
{
    const std::vector<std::string> urls{unique_url("cli-import", 1), unique_url("cli-import", 2),
                                        unique_url("cli-import", 3)};
    const std::filesystem::path file = scratch_file("import");
    {
        std::ofstream out(file);
        out << urls[0] << "\n\n" << urls[1] << "\r\n" << urls[2] << "\n";
    }
    const CliRun r = run({"import", file.string()});
    std::filesystem::remove(file);

    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");  // stderr is not a terminal: no progress line
    const std::vector<std::string> out = lines(r.out);
    ASSERT_EQ(out.size(), urls.size());
    for (std::size_t i = 0; i < urls.size(); ++i) {
        const std::size_t tab = out[i].find('\t');
        ASSERT_NE(tab, std::string::npos) << out[i];
        EXPECT_EQ(out[i].substr(tab + 1), urls[i]);
        EXPECT_EQ(run({"resolve", out[i].substr(0, tab)}).out, urls[i] + "\n");
    }
}

TEST(Cli, ImportFromStdin)
{
    const std::vector<std::string> urls{unique_url("cli-stdin", 1), unique_url("cli-stdin", 2)};
    const std::filesystem::path file = scratch_file("stdin");
    {
        std::ofstream out(file);
        out << urls[0] << "\n" << urls[1] << "\n";
    }
    const CliRun r = run({"import", "-"}, {}, "< " + quoted(file.string()));
    std::filesystem::remove(file);

    ASSERT_EQ(r.status, 0) << r.err;
    const std::vector<std::string> out = lines(r.out);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[1].substr(out[1].find('\t') + 1), urls[1]);
}

TEST(Cli, ImportWithABadUrlStoresNothingAndExitsThree)
{
    const std::string good = unique_url("cli-import-bad");
    const std::filesystem::path file = scratch_file("import-bad");
    {
        std::ofstream out(file);
        out << good << "\nnot a url\n";
    }
    const CliRun r = run({"import", file.string()});
    std::filesystem::remove(file);

    EXPECT_EQ(r.status, 3);
    EXPECT_EQ(r.out, "");
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("line 2 of"), std::string::npos) << r.err;
    EXPECT_EQ(links_to(good), 0);
}

TEST(Cli, AnUnreadableStandardInputExitsThreeAndStoresNothing)
{
    /* A directory as stdin (read fails with EISDIR) and a closed stdin:
     * std::cin reads through stdio, where only ferror(stdin) shows it. */
    for (const char *input : {"< /tmp", "<&-"}) {
        for (const char *command : {"import", "shorten"}) {
            const CliRun r = run({command, "-"}, {}, input);
            EXPECT_EQ(r.status, 3) << command << " " << input << ": " << r.err;
            EXPECT_EQ(r.out, "");
            expect_one_error_line(r);
            EXPECT_NE(r.err.find("cannot read standard input"), std::string::npos) << r.err;
        }
    }
}

TEST(Cli, OutputThatCannotBeWrittenExitsSixThoughTheLinkIsStored)
{
    const std::string url = unique_url("cli-dev-full");
    const CliRun r = run({"shorten", url}, {}, "< /dev/null > /dev/full");
    EXPECT_EQ(r.status, 6) << r.err;
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("could not write the output"), std::string::npos) << r.err;
    EXPECT_EQ(links_to(url), 1);
}

/*
 * shorten --locked (or with an option) stores one URL at a time and
 * prints each code as it goes: once a code cannot be written, the loop
 * stops, so one link's code is lost, not twenty.  Before, it stored all 20
 * and said so only at the end.
 */
TEST(Cli, OneAtATimeShortenStopsAtTheFirstFailedWrite)
{
    const std::string prefix = unique_url("cli-full-loop");
    for (const std::vector<std::string> &option :
         std::vector<std::vector<std::string>>{{"--locked"}, {"--max-clicks", "5"}}) {
        SCOPED_TRACE(option[0]);
        const std::string under = prefix + "/" + option[0];
        std::vector<std::string> args = {"shorten"};
        args.insert(args.end(), option.begin(), option.end());
        for (int i = 0; i < 20; ++i)
            args.push_back(under + "/" + std::to_string(i));
        const CliRun r = run(args, {}, "< /dev/null > /dev/full");
        EXPECT_EQ(r.status, 6) << r.err;
        expect_one_error_line(r);
        EXPECT_NE(r.err.find("could not write the output: No space left on device; stored the "
                             "first of 20 URLs, its code lost, not the other 19"),
                  std::string::npos)
            << r.err;
        EXPECT_EQ(links_under(under + "/"), 1);
    }

    /* A file that may grow to 1024 bytes (dash's ulimit -f counts 512-byte
     * blocks), codes of about 600: the first is printed, the second cut. */
    const std::string under = prefix + "/limit";
    const std::filesystem::path written = scratch_file("fsize-out");
    const std::string base_url = "https://s.example/" + std::string(580, 'b') + "/";
    const CliRun r = run({"--base-url", base_url, "shorten", "--locked", under + "/0", under + "/1",
                          under + "/2"},
                         {}, "< /dev/null > " + quoted(written.string()), "trap '' XFSZ; ulimit -f 2;");
    EXPECT_EQ(r.status, 6) << r.err;
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("stored the first 2 of 3 URLs, the codes of the first 1 printed, the last "
                         "one's lost, not the other 1"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(links_under(under + "/"), 2);
    const std::vector<std::string> printed = lines(read_file(written));
    ASSERT_FALSE(printed.empty());
    EXPECT_EQ(printed[0].rfind(base_url, 0), 0u) << printed[0];   // the first code, whole
    std::filesystem::remove(written);
}

/*
 * A reader that is gone (a pipe whose read end is closed before the CLI
 * starts: every write fails with EPIPE) is the same failure, not a death
 * by SIGPIPE with nothing said.
 */
TEST(Cli, AClosedOutputPipeExitsSixThoughTheLinkIsStored)
{
    const std::string url = unique_url("cli-closed-pipe");
    const std::filesystem::path err = scratch_file("closed-pipe-stderr");
    const std::string command = "PGDATABASE=" + std::string(database_name) + " " +
                                quoted(URL_SHORTENER_CLI) + " shorten " + quoted(url) +
                                " < /dev/null 2>" + quoted(err.string());
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    close(fds[0]);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);   /* as a shell starts it, whatever this process set */
        dup2(fds[1], STDOUT_FILENO);
        close(fds[1]);
        execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char *>(nullptr));
        _exit(127);
    }
    close(fds[1]);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    const CliRun r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, "", read_file(err)};
    std::filesystem::remove(err);
    EXPECT_TRUE(WIFEXITED(status)) << "ended by signal " << WTERMSIG(status);
    EXPECT_EQ(r.status, 6) << r.err;
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("could not write the output"), std::string::npos) << r.err;
    EXPECT_EQ(links_to(url), 1);
}

/*
 * Ctrl-C after an import's COMMIT, while the codes are being printed: the
 * links are stored, and the tool says so on stderr instead of ending
 * silently, then ends by the signal as before (a shell reports 130).  The output goes to a
 * pipe this test reads one byte of and then leaves full, so the tool is
 * held printing, past its COMMIT, when the signal comes.
 */
namespace {

/*
 * Starts the CLI with args as a shell would (SIGINT and SIGTERM at their
 * default, none blocked), its stdout into out_fd and its stderr into err.
 * Everything the child needs is made before the fork.
 */
pid_t start_cli(const std::vector<std::string> &args, int out_fd, const std::filesystem::path &err)
{
    std::vector<std::string> words{URL_SHORTENER_CLI};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char *> argv;
    for (std::string &word : words)
        argv.push_back(word.data());
    argv.push_back(nullptr);
    std::string database = "PGDATABASE=" + std::string(database_name);
    std::vector<char *> envp;
    for (char **variable = environ; *variable; ++variable)
        if (std::string_view(*variable).rfind("PGDATABASE=", 0) != 0)
            envp.push_back(*variable);
    envp.push_back(database.data());
    envp.push_back(nullptr);
    const std::string err_path = err.string();

    const pid_t pid = fork();
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        const int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (dup2(out_fd, STDOUT_FILENO) < 0 || err_fd < 0 || dup2(err_fd, STDERR_FILENO) < 0)
            _exit(126);
        execve(argv[0], argv.data(), envp.data());
        _exit(127);
    }
    return pid;
}

/* Waits (bounded) until backend pid has exited of its own accord. */
void wait_until_backend_ends(int pid)
{
    auto c = connect();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
        pqxx::nontransaction q(*c);
        if (q.exec_params("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)
                .at(0).at(0).as<long long>() == 0)
            return;
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("backend " + std::to_string(pid) + " did not end");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

/* An input file of count URLs under prefix. */
std::filesystem::path urls_file(const std::string &name, const std::string &prefix, int count)
{
    const std::filesystem::path input = scratch_file(name);
    std::ofstream out(input);
    for (int i = 0; i < count; ++i)
        out << prefix << "/" << i << "\n";
    return input;
}

/*
 * The stderr (err, removed) of a CLI that ended with status; fails unless
 * it ended by SIGINT itself, as without a notice: a shell sees 130.  For
 * ASSERT_NO_FATAL_FAILURE.
 */
void read_interrupted(int status, const std::filesystem::path &err, std::string &message)
{
    message = read_file(err);
    std::filesystem::remove(err);
    ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << WEXITSTATUS(status) << ": " << message;
    EXPECT_EQ(WTERMSIG(status), SIGINT) << message;
}

/* As the notices say: the same import again prints all count codes and
 * stores nothing (input removed after). */
void expect_import_again_stores_nothing(const std::filesystem::path &input,
                                        const std::string &prefix, int count)
{
    const CliRun again = run({"import", input.string()});
    std::filesystem::remove(input);
    EXPECT_EQ(again.status, 0) << again.err;
    EXPECT_EQ(lines(again.out).size(), static_cast<std::size_t>(count));
    EXPECT_EQ(links_under(prefix + "/"), count);
}

} // namespace

TEST(Cli, AnInterruptAfterTheImportCommitsSaysTheLinksAreStored)
{
    constexpr int count = 20000;    /* about 1.4 MB of output: more than a pipe holds */
    const std::string prefix = unique_url("cli-interrupted-import");
    const std::filesystem::path input = urls_file("interrupted-import", prefix, count);
    const std::filesystem::path err = scratch_file("interrupted-import-stderr");
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);     /* the CLI gets only its stdout's copy */
    const pid_t pid = start_cli({"import", input.string()}, fds[1], err);
    ASSERT_GE(pid, 0);
    close(fds[1]);
    char first = 0;
    const ssize_t got = read(fds[0], &first, 1);     /* printing has begun: past the COMMIT */
    EXPECT_EQ(got, 1);
    EXPECT_EQ(links_under(prefix + "/"), count);
    kill(pid, SIGINT);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    close(fds[0]);
    std::string message;
    ASSERT_NO_FATAL_FAILURE(read_interrupted(status, err, message));
    EXPECT_NE(message.find("import interrupted after its COMMIT: all 20000 links are stored"),
              std::string::npos) << message;
    EXPECT_NE(message.find("running the same import again on the same input prints them all and "
                           "stores nothing twice"),
              std::string::npos) << message;
    EXPECT_EQ(links_under(prefix + "/"), count);
    expect_import_again_stores_nothing(input, prefix, count);
}

/*
 * Interrupted while its last chunk's statement waits (a trigger on urls
 * takes an advisory lock the test holds, for the last URL only): four
 * chunks of ten were answered, and still the import says nothing is
 * stored, and the connection's end does roll it all back, though the
 * statement finishes once the lock is gone.
 */
TEST(Cli, AnInterruptBeforeTheImportCommitsSaysNothingIsStored)
{
    constexpr int count = 50;
    const std::string prefix = unique_url("cli-interrupted-before-commit");
    const std::filesystem::path input = urls_file("interrupted-before-commit", prefix, count);
    const std::filesystem::path err = scratch_file("interrupted-before-commit-stderr");
    const std::string name = unique_application_name("interrupted-before-commit");
    const std::string last = prefix + "/" + std::to_string(count - 1);
    const std::string trigger = "hold_last_" + std::to_string(getpid());
    auto setup = connect();
    {
        pqxx::nontransaction ddl(*setup);
        ddl.exec0("CREATE FUNCTION public." + trigger + "() RETURNS trigger LANGUAGE plpgsql AS "
                  "$$BEGIN PERFORM pg_catalog.pg_advisory_xact_lock(7151, 1); RETURN NEW; END$$");
        ddl.exec0("CREATE TRIGGER " + trigger + " BEFORE INSERT ON urls FOR EACH ROW WHEN "
                  "(NEW.original_url = " + ddl.quote(last) + ") EXECUTE FUNCTION public." + trigger + "()");
    }
    auto locker = connect();
    pqxx::work locking(*locker);
    locking.exec1("SELECT pg_advisory_xact_lock(7151, 1)");

    const int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(out, 0);
    const pid_t pid = start_cli({"--dsn", dsn("application_name=" + name), "import", "--batch-size",
                                 "10", input.string()},
                                out, err);
    close(out);
    ASSERT_GE(pid, 0);
    const int backend = backend_pid(name);
    wait_until_waiting_on_lock(backend);
    kill(pid, SIGINT);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    locking.abort();
    wait_until_backend_ends(backend);
    {
        pqxx::nontransaction ddl(*setup);
        ddl.exec0("DROP TRIGGER " + trigger + " ON urls");
        ddl.exec0("DROP FUNCTION public." + trigger + "()");
    }

    std::filesystem::remove(input);
    std::string message;
    ASSERT_NO_FATAL_FAILURE(read_interrupted(status, err, message));
    EXPECT_EQ(message, "\nurl-shortener: import interrupted before its COMMIT: nothing is stored\n");
    EXPECT_EQ(links_under(prefix + "/"), 0);
}

/*
 * Interrupted while its COMMIT waits for a synchronous standby that never
 * comes: the import says the outcome is unknown and how to settle it.  The
 * commit stands once the wait is lifted, and the same import again prints
 * the codes and stores nothing twice, as the notice says.
 */
TEST(Cli, AnInterruptWhileTheImportCommitsSaysTheOutcomeIsUnknown)
{
    constexpr int count = 50;
    const std::string prefix = unique_url("cli-interrupted-at-commit");
    const std::filesystem::path input = urls_file("interrupted-at-commit", prefix, count);
    const std::filesystem::path err = scratch_file("interrupted-at-commit-stderr");
    const std::string name = unique_application_name("interrupted-at-commit");
    int status = 0;
    {
        CommitsHang hang;
        const int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
        ASSERT_GE(out, 0);
        const pid_t pid = start_cli(
            {"--dsn", dsn("application_name=" + name), "import", input.string()}, out, err);
        close(out);
        ASSERT_GE(pid, 0);
        const int backend = backend_pid(name);
        wait_until_committing(backend);
        kill(pid, SIGINT);
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        hang.release();
        wait_until_backend_ends(backend);
    }
    std::string message;
    ASSERT_NO_FATAL_FAILURE(read_interrupted(status, err, message));
    EXPECT_EQ(message, "\nurl-shortener: import interrupted at its COMMIT: whether its 50 links "
                       "are stored is unknown; running the same import again on the same input "
                       "prints their codes and stores nothing twice\n");
    EXPECT_EQ(links_under(prefix + "/"), count);
    expect_import_again_stores_nothing(input, prefix, count);
}

/* An alias names one link; a reusable link has no limits.  Usage errors
 * both, before anything is stored, also for URLs read from stdin. */
TEST(Cli, OptionsThatCannotGoTogetherAreUsageErrors)
{
    const std::string alias = "cli-one-alias-" + std::to_string(getpid());
    for (const std::vector<std::string> &args : std::vector<std::vector<std::string>>{
             {"shorten", "--alias", alias, unique_url("cli-one-alias", 1), unique_url("cli-one-alias", 2)},
             {"shorten", "--reuse", "--expires-in", "100", unique_url("cli-one-alias", 1)},
             {"shorten", "--reuse", "--max-clicks", "3", unique_url("cli-one-alias", 1)}}) {
        const CliRun r = run(args);
        EXPECT_EQ(r.status, 2) << args[1] << " " << args[2] << ": " << r.err;
        EXPECT_EQ(r.out, "");
        expect_one_error_line(r);
    }
    const std::filesystem::path input = scratch_file("one-alias");
    std::ofstream(input) << unique_url("cli-one-alias", 1) << "\n" << unique_url("cli-one-alias", 2) << "\n";
    const CliRun from_stdin = run({"shorten", "--alias", alias, "-"}, {}, "< " + quoted(input.string()));
    std::filesystem::remove(input);
    EXPECT_EQ(from_stdin.status, 2) << from_stdin.err;
    expect_one_error_line(from_stdin);
    EXPECT_EQ(links_to(unique_url("cli-one-alias", 1)), 0);
    EXPECT_EQ(links_to(unique_url("cli-one-alias", 2)), 0);
}

TEST(Cli, ABaseUrlThatIsNotPrintableAsciiIsAUsageError)
{
    /* Its bytes would go into --json output as they are: not JSON. */
    const CliRun r = run({"--json", "--base-url", "https://s.\xff/", "shorten", unique_url("cli-base")});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "");
    expect_one_error_line(r);
}

TEST(Cli, ImportOfAMissingFileExitsThree)
{
    const CliRun r = run({"import", "/nonexistent/urls.txt"});
    EXPECT_EQ(r.status, 3);
    expect_one_error_line(r);
}

/* Also with no database to reach: the input is read before connecting. */
TEST(Cli, ImportOfInputThatCannotBeReadExitsThreeWithTheDatabaseDown)
{
    const std::string down = "host=/nonexistent-directory port=1";
    for (const auto &[file, redirection] : std::vector<std::pair<std::string, std::string>>{
             {"/nonexistent/urls.txt", ""},
             {std::filesystem::temp_directory_path().string(), ""},
             {"-", "< /tmp"}}) {
        const CliRun r = run({"--dsn", down, "import", file}, {}, redirection);
        EXPECT_EQ(r.status, 3) << file << ": " << r.err;
        expect_one_error_line(r);
        EXPECT_NE(r.err.find("cannot read"), std::string::npos) << file << ": " << r.err;
    }
}

/*
 * shorten - reads stdin before it connects, as import does: input that
 * cannot be used is the caller's to fix (3, or 2 for none or several URLs
 * with --alias), also while the database cannot be reached (it was 5).
 */
TEST(Cli, ShortenFromStdinThatCannotBeUsedIsRefusedWithTheDatabaseDown)
{
    const std::string down = "host=/nonexistent-directory port=1";
    const std::filesystem::path two = scratch_file("two-urls");
    std::ofstream(two) << "https://example.com/a\nhttps://example.com/b\n";
    for (const auto &[args, redirection, status] :
         std::vector<std::tuple<std::vector<std::string>, std::string, int>>{
             {{"--dsn", down, "shorten", "-"}, "< /tmp", 3},
             {{"--dsn", down, "shorten", "-"}, "< /dev/null", 2},
             {{"--dsn", down, "shorten", "--alias", "cli-down", "-"},
              "< " + quoted(two.string()), 2}}) {
        const CliRun r = run(args, {}, redirection);
        EXPECT_EQ(r.status, status) << redirection << ": " << r.err;
        EXPECT_EQ(r.out, "");
        expect_one_error_line(r);
        EXPECT_NE(r.err.find("shorten -"), std::string::npos) << r.err;
    }
}

TEST(Cli, UsageErrorsExitTwo)
{
    for (const std::vector<std::string> &args : std::vector<std::vector<std::string>>{
             {}, {"shorten"}, {"resolve"}, {"frobnicate"}, {"resolve", "--no-such-flag", "x"}}) {
        const CliRun r = run(args);
        EXPECT_EQ(r.status, 2) << (args.empty() ? "(no arguments)" : args[0]);
        EXPECT_EQ(r.out, "");
        expect_one_error_line(r);
    }
}

TEST(Cli, HelpExitsZeroAndDocumentsExitCodes)
{
    for (const std::vector<std::string> &args : std::vector<std::vector<std::string>>{
             {"--help"}, {"shorten", "--help"}, {"resolve", "--help"}, {"import", "--help"}}) {
        const CliRun r = run(args);
        EXPECT_EQ(r.status, 0);
        EXPECT_NE(r.out.find("Exit status"), std::string::npos) << r.out;
    }
}

TEST(Cli, UnreachableServerExitsFive)
{
    const CliRun r = run({"--dsn", "host=/nonexistent-directory port=1", "resolve", "abc"});
    EXPECT_EQ(r.status, 5);
    expect_one_error_line(r);
}

/* The 1.1 subcommands: each outcome and exit status. */
TEST(Cli, AliasThenTakenAliasExitsSeven)
{
    const std::string alias = "cli-alias-" + std::to_string(getpid());
    const CliRun made = run({"shorten", "--alias", alias, unique_url("cli-alias", 1)});
    EXPECT_EQ(made.status, 0) << made.err;
    EXPECT_EQ(made.out, alias + "\n");
    const CliRun taken = run({"shorten", "--alias", alias, unique_url("cli-alias", 2)});
    EXPECT_EQ(taken.status, 7);
    EXPECT_EQ(taken.out, "");
    expect_one_error_line(taken);
    EXPECT_EQ(links_to(unique_url("cli-alias", 2)), 0);
}

TEST(Cli, ReusePrintsTheSameCode)
{
    const CliRun first = run({"shorten", "--reuse", unique_url("cli-reuse")});
    const CliRun second = run({"shorten", "--reuse", unique_url("cli-reuse")});
    EXPECT_EQ(first.status, 0) << first.err;
    EXPECT_EQ(first.out, second.out);
    EXPECT_EQ(links_to(unique_url("cli-reuse")), 1);
    EXPECT_EQ(run({"shorten", "--reuse", "--alias", "x", unique_url("cli-reuse", 2)}).status, 2);
}

TEST(Cli, MaxClicksStatsUpdateAndConflict)
{
    const CliRun made = run({"shorten", "--max-clicks", "1", "--expires-in", "3600", unique_url("cli-edit")});
    ASSERT_EQ(made.status, 0) << made.err;
    const std::string code = lines(made.out).at(0);

    const CliRun stats = run({"stats", code});
    EXPECT_EQ(stats.status, 0) << stats.err;
    const std::vector<std::string> facts = lines(stats.out);
    ASSERT_EQ(facts.size(), 8u) << stats.out;
    EXPECT_EQ(facts[1], "url\t" + unique_url("cli-edit"));
    EXPECT_EQ(facts[5], "max_clicks\t1");
    EXPECT_EQ(facts[6], "version\t1");
    EXPECT_NE(facts[4], "expires\tnever");

    const CliRun updated = run({"update", code, unique_url("cli-edit", 2), "--version", "1"});
    EXPECT_EQ(updated.status, 0) << updated.err;
    EXPECT_EQ(updated.out, "2\n");
    const CliRun stale = run({"update", code, unique_url("cli-edit", 3), "--version", "1"});
    EXPECT_EQ(stale.status, 8);
    expect_one_error_line(stale);

    EXPECT_EQ(run({"resolve", code}).out, unique_url("cli-edit", 2) + "\n");
    EXPECT_EQ(run({"resolve", code}).status, 1);   /* max_clicks 1: used up */
}

TEST(Cli, DisableEnableDeleteAndUnknownCodes)
{
    const std::string code = lines(run({"shorten", unique_url("cli-switch")}).out).at(0);
    EXPECT_EQ(run({"disable", code}).status, 0);
    EXPECT_EQ(run({"resolve", code}).status, 1);
    EXPECT_EQ(run({"enable", code}).status, 0);
    EXPECT_EQ(run({"resolve", code}).status, 0);
    EXPECT_EQ(run({"delete", code}).status, 0);
    for (const char *command : {"delete", "disable", "enable", "stats"}) {
        const CliRun r = run({command, code});
        EXPECT_EQ(r.status, 1) << command;
        expect_one_error_line(r);
    }
    EXPECT_EQ(run({"update", code, unique_url("cli-switch", 2), "--version", "1"}).status, 1);
}

TEST(Cli, PurgeDeletesAUsedUpLinkAndPrintsHowManyWent)
{
    const CliRun made = run({"shorten", "--max-clicks", "1", unique_url("cli-purge")});
    ASSERT_EQ(made.status, 0) << made.err;
    const std::string code = lines(made.out).at(0);
    EXPECT_EQ(run({"resolve", code}).status, 0);

    const CliRun r = run({"purge", "--batch-size", "10"});
    EXPECT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(lines(r.out).size(), 1u);
    EXPECT_GE(std::stoll(r.out), 1) << "the used-up link is one of them";
    EXPECT_EQ(run({"stats", code}).status, 1) << "the link is gone";
    EXPECT_EQ(run({"purge", "--batch-size", "0"}).status, 2);
}

/* Timeouts: outcomes only; "timeout 120" turns a hang into a failed assertion. */
TEST(Cli, AServerThatNeverAnswersExitsFiveAfterTheConnectTimeout)
{
    SilentListener listener;
    const CliRun r = run({"--dsn", "host=127.0.0.1 port=" + std::to_string(listener.port()) +
                                       " dbname=x user=x",
                          "--connect-timeout", "2", "resolve", "abc"},
                         "timeout 120");
    EXPECT_EQ(r.status, 5) << r.err;
    expect_one_error_line(r);
}

TEST(Cli, AStatementOverTheStatementTimeoutExitsFiveAndStoresNothing)
{
    /* Held for 15 s: with the default 30 s in place of 1, the CLI would get
     * the lock and store the link. */
    GenerationLock holding(std::chrono::seconds(15));
    const std::string url = unique_url("cli-statement-timeout");
    const CliRun r = run({"--statement-timeout", "1", "shorten", "--locked", url}, "timeout 120");
    holding.release();
    EXPECT_EQ(r.status, 5) << r.err;
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("57014"), std::string::npos) << r.err;
    EXPECT_EQ(links_to(url), 0);
}

TEST(Cli, BadTimeoutsAndAnUnparseableDsnAreUsageErrors)
{
    for (const std::vector<std::string> &args : std::vector<std::vector<std::string>>{
             {"--connect-timeout", "-1", "resolve", "x"},
             {"--connect-timeout", "soon", "resolve", "x"},
             {"--statement-timeout", "99999999999", "resolve", "x"},
             {"--dsn", "host", "resolve", "x"},
             {"--dsn", "port=1 'unterminated", "resolve", "x"},
             {"--dsn", "postgresql://[::1", "resolve", "x"},
             {"--dsn", "connect_timeout=abc", "resolve", "x"},
             {"--dsn", "connect_timeout=99999999999", "resolve", "x"}}) {
        const CliRun r = run(args);
        EXPECT_EQ(r.status, 2) << args[0] << " " << args[1] << ": " << r.err;
        expect_one_error_line(r);
    }
}

/* Scripting: --version, --json, shorten -, --base-url, import's lines. */
namespace {

/* Writes text to a scratch file and returns its path. */
std::filesystem::path file_with(const std::string &name, const std::string &text)
{
    const std::filesystem::path file = scratch_file(name);
    std::ofstream(file) << text;
    return file;
}

/* The one JSON object on a line. */
boost::json::object json_line(const std::string &line)
{
    return boost::json::parse(line).as_object();
}

/* An import of text that has a line the server refuses: exit 3, one line on stderr. */
CliRun refused_import(const std::string &tag, const std::string &text)
{
    const std::filesystem::path bad = file_with(tag, text);
    const CliRun refused = run({"import", bad.string()});
    std::filesystem::remove(bad);
    EXPECT_EQ(refused.status, 3);
    expect_one_error_line(refused);
    return refused;
}

} // namespace

TEST(Cli, VersionPrintsTheClientVersion)
{
    const CliRun r = run({"--version"});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, std::string("url-shortener ") + URL_SHORTENER_CLIENT_VERSION + "\n");
}

TEST(Cli, JsonOnEveryCommand)
{
    const std::string url = unique_url("cli-json");
    const CliRun made = run({"--json", "--base-url", "https://s.example", "shorten", url});
    ASSERT_EQ(made.status, 0) << made.err;
    const boost::json::object link = json_line(made.out);
    const std::string code(link.at("code").as_string());
    EXPECT_EQ(link.at("url").as_string(), url);
    EXPECT_EQ(link.at("short_url").as_string(), "https://s.example/" + code);

    const boost::json::object resolved = json_line(run({"--json", "resolve", code}).out);
    EXPECT_EQ(resolved.at("url").as_string(), url);
    EXPECT_EQ(resolved.at("code").as_string(), code);

    const CliRun stats = run({"--json", "stats", code});
    ASSERT_EQ(lines(stats.out).size(), 1u) << stats.out;
    const boost::json::object facts = json_line(stats.out);
    EXPECT_EQ(facts.at("clicks").as_int64(), 1);
    EXPECT_EQ(facts.at("version").as_int64(), 1);
    EXPECT_TRUE(facts.at("enabled").as_bool());
    EXPECT_TRUE(facts.at("expires").is_null());
    EXPECT_TRUE(facts.at("max_clicks").is_null());

    const boost::json::object updated =
        json_line(run({"--json", "update", code, unique_url("cli-json", 2), "--version", "1"}).out);
    EXPECT_EQ(updated.at("version").as_int64(), 2);
    EXPECT_TRUE(json_line(run({"--json", "disable", code}).out).at("changed").as_bool());
    EXPECT_FALSE(json_line(run({"--json", "disable", code}).out).at("changed").as_bool());
    EXPECT_TRUE(json_line(run({"--json", "enable", code}).out).at("changed").as_bool());
    const CliRun used_up = run({"shorten", "--max-clicks", "1", unique_url("cli-json-purge")});
    ASSERT_EQ(used_up.status, 0) << used_up.err;
    EXPECT_EQ(run({"resolve", lines(used_up.out).at(0)}).status, 0);
    EXPECT_GE(json_line(run({"--json", "purge"}).out).at("purged").as_int64(), 1);
    EXPECT_TRUE(json_line(run({"--json", "delete", code}).out).at("changed").as_bool());

    const std::filesystem::path file =
        file_with("json-import", "# two links\n" + unique_url("cli-json", 3) + "\n\n" +
                                     unique_url("cli-json", 4) + "\n");
    const CliRun imported = run({"--json", "import", file.string()});
    std::filesystem::remove(file);
    ASSERT_EQ(imported.status, 0) << imported.err;
    const std::vector<std::string> objects = lines(imported.out);
    ASSERT_EQ(objects.size(), 2u);
    EXPECT_EQ(json_line(objects[0]).at("line").as_int64(), 2);
    EXPECT_EQ(json_line(objects[1]).at("line").as_int64(), 4);
    EXPECT_EQ(json_line(objects[1]).at("url").as_string(), unique_url("cli-json", 4));
}

TEST(Cli, ShortenDashReadsUrlsFromStdinAndBaseUrlPrintsFullLinks)
{
    const std::filesystem::path file = file_with(
        "shorten-stdin", unique_url("cli-dash", 1) + "\n\n   " + unique_url("cli-dash", 2) +
                             "  \t\n# a comment\n");
    const CliRun r = run({"--base-url", "https://s.example/x/", "shorten", "-"}, {},
                         "< " + quoted(file.string()));
    std::filesystem::remove(file);
    ASSERT_EQ(r.status, 0) << r.err;
    const std::vector<std::string> links = lines(r.out);
    ASSERT_EQ(links.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        ASSERT_EQ(links[i].rfind("https://s.example/x/", 0), 0u) << links[i];
        const std::string code = links[i].substr(std::string("https://s.example/x/").size());
        EXPECT_EQ(run({"resolve", code}).out, unique_url("cli-dash", i + 1) + "\n");
    }
}

TEST(Cli, ShortenChecksEveryUrlBeforeStoringAny)
{
    const std::string good = unique_url("cli-all-first", 1), good2 = unique_url("cli-all-first", 2);
    const CliRun r = run({"shorten", good, "javascript:alert(1)", good2});
    EXPECT_EQ(r.status, 3);
    EXPECT_EQ(r.out, "");
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("URL 2 of 3"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("stored nothing"), std::string::npos) << r.err;
    EXPECT_EQ(links_to(good), 0);
    EXPECT_EQ(links_to(good2), 0);
}

/* A line that is not UTF-8 is named too (the server's refusal could not say which). */
TEST(Cli, ImportNamesALineThatIsNotUtf8)
{
    const std::string first = unique_url("cli-not-utf8");
    const CliRun refused =
        refused_import("import-not-utf8", "# header\n" + first + "\nhttps://example.com/\xff\n");
    EXPECT_NE(refused.err.find("line 3 of"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("not valid UTF-8"), std::string::npos) << refused.err;
    EXPECT_EQ(links_to(first), 0);
}

TEST(Cli, ImportNamesTheLineTrimsAndSkipsCommentsAndBatches)
{
    const std::string first = unique_url("cli-lines", 1);
    const CliRun refused = refused_import(
        "import-lines", "# header\n\n  " + first + "  \n\t\nhttps://user@example.com/\n");
    EXPECT_NE(refused.err.find("line 5 of"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("stored nothing"), std::string::npos) << refused.err;
    EXPECT_EQ(links_to(first), 0);

    std::string text;
    for (int i = 0; i < 5; ++i)
        text += "  " + unique_url("cli-batch", i) + "\r\n";
    const std::filesystem::path good = file_with("import-batches", text);
    const CliRun stored = run({"import", "--batch-size", "2", good.string()});
    std::filesystem::remove(good);
    ASSERT_EQ(stored.status, 0) << stored.err;
    const std::vector<std::string> out = lines(stored.out);
    ASSERT_EQ(out.size(), 5u);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(out[i].substr(out[i].find('\t') + 1), unique_url("cli-batch", i));
        EXPECT_EQ(links_to(unique_url("cli-batch", i)), 1);   /* trimmed before storing */
    }
    EXPECT_EQ(run({"import", "--batch-size", "0", "-"}).status, 2);
}

TEST(Cli, ImportOfADirectoryExitsThree)
{
    const CliRun r = run({"import", std::filesystem::temp_directory_path().string()});
    EXPECT_EQ(r.status, 3);
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("directory"), std::string::npos) << r.err;
}

TEST(Cli, NumbersOutOfRangeAreRefusedPlainly)
{
    const std::string url = unique_url("cli-numbers");
    for (const std::vector<std::string> &args : std::vector<std::vector<std::string>>{
             {"shorten", "--expires-in", "9999999999999", url},
             {"shorten", "--expires-in", "0", url},
             {"shorten", "--expires-in", "1e3", url},
             {"shorten", "--max-clicks", "0", url},
             {"shorten", "--max-clicks", "-5", url},
             {"shorten", "--max-clicks", "99999999999999999999", url}}) {
        const CliRun r = run(args);
        EXPECT_EQ(r.status, 2) << args[1] << " " << args[2];
        expect_one_error_line(r);
        EXPECT_NE(r.err.find("must be a whole number from 1 to"), std::string::npos) << r.err;
        EXPECT_LT(r.err.size(), 200u) << r.err;
    }
    EXPECT_EQ(links_to(url), 0);
}

/*
 * An option given with an empty value (a script's unset variable) is a
 * usage error, not the option left out: that would make an unlimited,
 * permanent or randomly named link the script did not ask for.
 */
TEST(Cli, AnOptionGivenAnEmptyValueIsAUsageError)
{
    const std::string url = unique_url("cli-empty-option");
    for (const std::vector<std::string> &args : std::vector<std::vector<std::string>>{
             {"shorten", "--max-clicks", "", url},
             {"shorten", "--expires-in", "", url},
             {"shorten", "--alias", "", url}}) {
        const CliRun r = run(args);
        EXPECT_EQ(r.status, 2) << args[1] << ": " << r.err;
        EXPECT_EQ(r.out, "") << args[1];
        expect_one_error_line(r);
        EXPECT_NE(r.err.find(args[1]), std::string::npos) << r.err;
    }
    EXPECT_EQ(links_to(url), 0);
}

/*
 * A refused URL is echoed with its control bytes escaped (\xNN): an input
 * file cannot send escape sequences to the terminal through stderr.
 */
TEST(Cli, ARefusedUrlIsEchoedWithoutControlBytes)
{
    const std::string url = "https://example.com/\x1b[31mred\x7f\r\x07";
    for (const std::vector<std::string> &args : std::vector<std::vector<std::string>>{
             {"shorten", url},                               /* all at once */
             {"shorten", "--max-clicks", "3", url},          /* one at a time */
             {"shorten", "--locked", unique_url("cli-escape"), url}}) {
        const CliRun r = run(args);
        EXPECT_EQ(r.status, 3) << args[1] << ": " << r.err;
        expect_one_error_line(r);
        for (std::size_t i = 0; i + 1 < r.err.size(); ++i) {
            const unsigned char c = static_cast<unsigned char>(r.err[i]);
            EXPECT_TRUE(c >= 0x20 && c != 0x7f) << args[1] << ": byte " << int(c) << " at " << i;
        }
        EXPECT_NE(r.err.find("https://example.com/\\x1b[31mred\\x7f\\x0d\\x07"), std::string::npos)
            << args[1] << ": " << r.err;
    }
}

/*
 * Nor C1 controls in UTF-8 (U+009B is CSI, which a UTF-8 terminal takes
 * as ESC [): both bytes escaped, while other characters outside ASCII (é,
 * a no-break space, C2 A0) are echoed as they are.
 */
TEST(Cli, ARefusedUrlIsEchoedWithoutC1Controls)
{
    const std::string url = "ftp://example.com/\xc2\x9b" "31mred\xc2\x85\xc3\xa9\xc2\xa0";
    for (const std::vector<std::string> &args : std::vector<std::vector<std::string>>{
             {"shorten", url},                               /* all at once */
             {"shorten", "--max-clicks", "3", url},          /* one at a time */
             {"shorten", "--locked", unique_url("cli-escape-c1"), url}}) {
        const CliRun r = run(args);
        EXPECT_EQ(r.status, 3) << args[1] << ": " << r.err;
        expect_one_error_line(r);
        for (const char *c1 : {"\xc2\x9b", "\xc2\x85"})
            EXPECT_EQ(r.err.find(c1), std::string::npos) << args[1] << ": " << r.err;
        EXPECT_NE(r.err.find("ftp://example.com/\\xc2\\x9b31mred\\xc2\\x85\xc3\xa9\xc2\xa0"),
                  std::string::npos)
            << args[1] << ": " << r.err;
    }
}

/*
 * Bytes that are not UTF-8 are escaped too: a lone 0x9b is CSI to a
 * terminal that reads 8-bit controls, and an overlong or cut-off sequence
 * is nothing a URL means.  Well-formed characters are left alone.
 */
TEST(Cli, ARefusedUrlIsEchoedWithoutBytesThatAreNotUtf8)
{
    const std::string url = "ftp://example.com/\x9b" "31m\xc0\xaf\xe2\x82\xac\xed\xa0\x80\xe2\x82";
    const CliRun r = run({"shorten", url});
    EXPECT_EQ(r.status, 3) << r.err;
    expect_one_error_line(r);
    EXPECT_EQ(r.err.find("\x9b"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("ftp://example.com/\\x9b31m\\xc0\\xaf\xe2\x82\xac\\xed\\xa0\\x80"
                         "\\xe2\\x82"),
              std::string::npos)
        << r.err;
}

TEST(Cli, ADisabledOrUsedUpLinkSaysSo)
{
    const std::string code = lines(run({"shorten", "--max-clicks", "1", unique_url("cli-why")}).out).at(0);
    EXPECT_EQ(run({"disable", code}).status, 0);
    const CliRun disabled = run({"resolve", code});
    EXPECT_EQ(disabled.status, 1);
    expect_one_error_line(disabled);
    EXPECT_NE(disabled.err.find("is disabled"), std::string::npos) << disabled.err;

    EXPECT_EQ(run({"enable", code}).status, 0);
    EXPECT_EQ(run({"resolve", code}).status, 0);
    const CliRun used_up = run({"resolve", code});
    EXPECT_EQ(used_up.status, 1);
    EXPECT_NE(used_up.err.find("used up"), std::string::npos) << used_up.err;

    /* Expired by the database's clock (set there), whatever this machine's says. */
    const std::string dated = lines(run({"shorten", unique_url("cli-why", 2)}).out).at(0);
    {
        auto c = connect();
        pqxx::nontransaction q(*c);
        q.exec_params("UPDATE urls SET expires_at = now() - interval '1 second' WHERE short_code = $1",
                      dated);
    }
    const CliRun expired = run({"resolve", dated});
    EXPECT_EQ(expired.status, 1);
    expect_one_error_line(expired);
    EXPECT_NE(expired.err.find("has expired"), std::string::npos) << expired.err;

    const CliRun none = run({"resolve", "no-such-code"});
    EXPECT_NE(none.err.find("no link has the code"), std::string::npos) << none.err;
}

TEST(Cli, VersionConflictAdviceNamesTheCliAndResolveNeverAdvisesLocked)
{
    const std::string code = lines(run({"shorten", unique_url("cli-advice")}).out).at(0);
    EXPECT_EQ(run({"update", code, unique_url("cli-advice", 2), "--version", "1"}).status, 0);
    const CliRun stale = run({"update", code, unique_url("cli-advice", 3), "--version", "1"});
    EXPECT_EQ(stale.status, 8);
    EXPECT_NE(stale.err.find("url-shortener stats"), std::string::npos) << stale.err;
    EXPECT_EQ(stale.err.find("url_stats"), std::string::npos) << stale.err;

    /* Another session clicks and keeps the row locked: resolve times out on the lock. */
    auto other = connect();
    pqxx::work clicking(*other);
    clicking.exec_params("SELECT resolve_url($1)", code);
    const CliRun blocked = run({"resolve", code}, "PGOPTIONS=" + quoted("-c lock_timeout=100ms"));
    clicking.abort();
    EXPECT_EQ(blocked.status, 5);
    expect_one_error_line(blocked);
    /* The lock timeout itself, not some other failure of status 5. */
    EXPECT_NE(blocked.err.find("another session holds a lock on the link"), std::string::npos)
        << blocked.err;
    EXPECT_EQ(blocked.err.find("--locked"), std::string::npos) << blocked.err;
}

TEST(Cli, AServerLostMidImportSaysNothingWasStored)
{
    std::string text;
    for (int i = 0; i < 200000; ++i)
        text += unique_url("cli-lost", static_cast<std::size_t>(i)) + "\n";
    const std::filesystem::path file = file_with("import-lost", text);
    const std::string name = unique_application_name("import-lost");

    /*
     * Terminate the import's backend whenever it has written in its
     * transaction: the first, and the one the client reconnects with to try
     * again. Not while it prepares its statements: the text of the prepared
     * shorten_urls shows in pg_stat_activity then too, and a connection lost
     * before the import began is not this test's case.
     */
    std::atomic<bool> done{false};
    std::thread killer([&] {
        auto c = connect();
        while (!done) {
            pqxx::nontransaction q(*c);
            q.exec_params("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = $1 AND backend_xid IS NOT NULL",
                          name);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    });
    const CliRun r = run({"--dsn", dsn("application_name=" + name), "import", "--batch-size", "100",
                          file.string()});
    done = true;
    killer.join();
    std::filesystem::remove(file);

    EXPECT_EQ(r.status, 5) << r.err;
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("stored nothing"), std::string::npos) << r.err;
    EXPECT_EQ(links_to(unique_url("cli-lost", 0)), 0);
}

TEST(Cli, BashCompletionCompletesCommandsAndTheManPageIsBuilt)
{
    EXPECT_EQ(with_completion(
                  "COMP_WORDS=(url-shortener sh); COMP_CWORD=1; COMP_LINE='url-shortener sh'; "
                  "COMP_POINT=${#COMP_LINE}; _url_shortener; echo \"${COMPREPLY[*]}\"; "
                  "COMP_WORDS=(url-shortener shorten --lo); COMP_CWORD=2; _url_shortener; "
                  "echo \"${COMPREPLY[*]}\""),
              "shorten\n--locked\n");
    /* Global options after the subcommand; a file name with a space is one word. */
    const std::filesystem::path dir = scratch_file("completion");
    std::filesystem::create_directories(dir / "comp dir");
    EXPECT_EQ(with_completion("cd " + quoted(dir.string()) + "; "
                              "COMP_WORDS=(url-shortener shorten --js); COMP_CWORD=2; _url_shortener; "
                              "echo \"${COMPREPLY[*]}\"; "
                              "COMP_WORDS=(url-shortener import comp); COMP_CWORD=2; _url_shortener; "
                              "echo \"${#COMPREPLY[@]}:${COMPREPLY[0]}\""),
              "--json\n1:comp dir\n");
    std::filesystem::remove_all(dir);

    const std::string man = read_file(URL_SHORTENER_MAN_PAGE);
    EXPECT_NE(man.find(".TH URL-SHORTENER"), std::string::npos);
    EXPECT_NE(man.find("statement\\-timeout"), std::string::npos);
}

namespace {

/* The code each line of import's output gives, in order. */
std::vector<std::string> import_codes(const CliRun &r)
{
    std::vector<std::string> codes;
    for (const std::string &line : lines(r.out))
        codes.push_back(line.substr(0, line.find('\t')));
    return codes;
}

/* The code of the one row holding url, or "" unless there is exactly one. */
std::string only_code_of(const std::string &url)
{
    auto c = connect();
    pqxx::nontransaction q(*c);
    const pqxx::result rows =
        q.exec_params("SELECT short_code FROM urls WHERE original_url = $1", url);
    return rows.size() == 1 ? rows.at(0).at(0).as<std::string>() : std::string();
}

} // namespace

TEST(Cli, ImportRunTwiceOnTheSameInputPrintsTheSameCodesAndStoresOnce)
{
    const std::vector<std::string> urls{unique_url("cli-again", 1), unique_url("cli-again", 2),
                                        unique_url("cli-again", 3)};
    const std::string text = "# three links\n" + urls[0] + "\n\n" + urls[1] + "\n" + urls[2] + "\n";
    const std::filesystem::path file = file_with("import-again", text);
    const long long before = link_count();

    const CliRun first = run({"import", file.string()});
    ASSERT_EQ(first.status, 0) << first.err;
    const std::vector<std::string> codes = import_codes(first);
    ASSERT_EQ(codes.size(), 3u);

    /* Again, and again from stdin: the keys come from the content, not the name. */
    const CliRun second = run({"import", file.string()});
    EXPECT_EQ(second.status, 0) << second.err;
    EXPECT_EQ(second.out, first.out);
    const CliRun piped = run({"import", "-"}, {}, "< " + quoted(file.string()));
    EXPECT_EQ(piped.status, 0) << piped.err;
    EXPECT_EQ(piped.out, first.out);
    EXPECT_EQ(link_count(), before + 3);
    for (std::size_t i = 0; i < urls.size(); ++i)
        EXPECT_EQ(only_code_of(urls[i]), codes[i]) << urls[i];

    /* Other content is another import: its own keys, its own links. */
    std::ofstream(file, std::ios::app) << unique_url("cli-again", 4) << "\n";
    const CliRun longer = run({"import", file.string()});
    std::filesystem::remove(file);
    ASSERT_EQ(longer.status, 0) << longer.err;
    EXPECT_NE(import_codes(longer).at(0), codes[0]);
    EXPECT_EQ(link_count(), before + 3 + 4);
}

TEST(Cli, ImportWithAnIdempotencyPrefixRunTwiceAndAChangedLineExitsNine)
{
    const std::string prefix = "cli-prefix-" + unique_application_name("prefix");
    const std::vector<std::string> urls{unique_url("cli-prefix", 1), unique_url("cli-prefix", 2)};
    const std::filesystem::path file = file_with("import-prefix", urls[0] + "\n" + urls[1] + "\n");
    const long long before = link_count();

    const CliRun first = run({"import", "--idempotency-prefix", prefix, file.string()});
    ASSERT_EQ(first.status, 0) << first.err;
    const CliRun second = run({"import", "--idempotency-prefix", prefix, file.string()});
    EXPECT_EQ(second.status, 0) << second.err;
    EXPECT_EQ(second.out, first.out);
    /* The prefix, not the content, names the keys: a comment added changes nothing. */
    const std::filesystem::path commented =
        file_with("import-prefix-commented", urls[0] + "\n" + urls[1] + "\n# done\n");
    const CliRun third = run({"import", "--idempotency-prefix", prefix, commented.string()});
    std::filesystem::remove(commented);
    EXPECT_EQ(third.status, 0) << third.err;
    EXPECT_EQ(third.out, first.out);
    EXPECT_EQ(link_count(), before + 2);

    /* Line 2 now holds another URL under the same prefix: refused, nothing stored. */
    const std::string other = unique_url("cli-prefix-other");
    const std::string fresh = unique_url("cli-prefix-fresh");
    const std::filesystem::path changed =
        file_with("import-prefix-changed", urls[0] + "\n" + other + "\n" + fresh + "\n");
    const CliRun conflict = run({"import", "--idempotency-prefix", prefix, changed.string()});
    std::filesystem::remove(changed);
    std::filesystem::remove(file);
    EXPECT_EQ(conflict.status, 9) << conflict.err;
    EXPECT_EQ(conflict.out, "");
    expect_one_error_line(conflict);
    EXPECT_NE(conflict.err.find("line 2 of"), std::string::npos) << conflict.err;
    EXPECT_NE(conflict.err.find("stored nothing"), std::string::npos) << conflict.err;
    EXPECT_EQ(links_to(other), 0);
    EXPECT_EQ(links_to(fresh), 0);
    EXPECT_EQ(link_count(), before + 2);

    EXPECT_EQ(run({"import", "--idempotency-prefix", "", "-"}).status, 2);
    EXPECT_EQ(run({"import", "--idempotency-prefix", std::string(300, 'p'), "-"}).status, 2);
}

namespace {

/*
 * Runs the CLI with args (after --dsn naming the application), loses its
 * COMMIT and its one retry, and returns how it ended.  The COMMIT waits
 * for a standby that never comes and its backend is terminated there:
 * committed, unanswered.  The retry (same keys, new connection) is made to
 * wait on a lock and terminated too, so the CLI cannot settle it itself.
 */
CliRun run_with_commit_and_retry_lost(const std::string &label, const std::vector<std::string> &args)
{
    const std::string name = unique_application_name(label);
    const std::string locker_name = unique_application_name(label + "-locker");
    CommitsHang hang;
    auto cli = std::async(std::launch::async, [&] {
        std::vector<std::string> all{"--dsn", dsn("application_name=" + name)};
        all.insert(all.end(), args.begin(), args.end());
        return run(all);
    });
    const int committing = backend_pid(name);
    wait_until_committing(committing);

    /*
     * An EXCLUSIVE lock on urls queues behind the committing backend's
     * lock and is granted when that backend ends, before the retry can ask
     * for its own, which then waits behind it.
     */
    auto locker = connect("application_name=" + locker_name);
    pqxx::work locking(*locker);
    auto lock = std::async(std::launch::async, [&] { locking.exec("LOCK TABLE urls IN EXCLUSIVE MODE"); });
    wait_until_waiting_on_lock(backend_pid(locker_name));
    terminate_backend(committing);
    lock.get();

    const int retrying = backend_pid(name);
    wait_until_waiting_on_lock(retrying);
    terminate_backend(retrying);
    CliRun lost = finish(cli);
    locking.abort();
    return lost;
}

} // namespace

TEST(Cli, ImportAfterOutcomeUnknownRunAgainPrintsTheSameCodesAndStoresNothingTwice)
{
    const std::vector<std::string> urls{unique_url("cli-in-doubt", 1), unique_url("cli-in-doubt", 2),
                                        unique_url("cli-in-doubt", 3)};
    const std::filesystem::path file =
        file_with("import-in-doubt", urls[0] + "\n" + urls[1] + "\n" + urls[2] + "\n");
    const long long before = link_count();

    const CliRun lost =
        run_with_commit_and_retry_lost("import-in-doubt", {"import", "--batch-size", "2", file.string()});
    EXPECT_EQ(lost.status, 6) << lost.err;
    EXPECT_EQ(lost.out, "");
    expect_one_error_line(lost);
    EXPECT_NE(lost.err.find("running the same import again"), std::string::npos) << lost.err;
    /* The lost COMMIT did store the links, codes the import never printed. */
    std::vector<std::string> stored;
    for (const std::string &url : urls)
        stored.push_back(only_code_of(url));
    for (const std::string &code : stored)
        EXPECT_NE(code, "");

    /* Running the same import again prints those codes and stores nothing more. */
    const CliRun again = run({"import", "--batch-size", "2", file.string()});
    std::filesystem::remove(file);
    ASSERT_EQ(again.status, 0) << again.err;
    EXPECT_EQ(import_codes(again), stored);
    EXPECT_EQ(link_count(), before + 3);
}

TEST(Cli, ShortenWithAnIdempotencyKeyPrintsTheSameCodeAgainAndStoresOneLink)
{
    const std::string url = unique_url("cli-key");
    const std::string key = "cli-key-" + url;
    const CliRun first = run({"shorten", "--idempotency-key", key, url});
    ASSERT_EQ(first.status, 0) << first.err;
    const CliRun again = run({"shorten", "--idempotency-key", key, url});
    ASSERT_EQ(again.status, 0) << again.err;
    EXPECT_EQ(again.out, first.out);
    EXPECT_EQ(links_to(url), 1);
    EXPECT_EQ(only_code_of(url) + "\n", first.out);

    /* The same key for another URL: 9, nothing stored. */
    const std::string other = unique_url("cli-key-other");
    const CliRun conflict = run({"shorten", "--idempotency-key", key, other});
    EXPECT_EQ(conflict.status, 9) << conflict.err;
    expect_one_error_line(conflict);
    EXPECT_EQ(links_to(other), 0);

    /* One link's: not with several URLs (also from stdin), an alias, reuse, or empty. */
    EXPECT_EQ(run({"shorten", "--idempotency-key", key, url, other}).status, 2);
    const CliRun two_lines = run({"shorten", "--idempotency-key", key, "-"}, {}, "",
                                 "printf '%s\\n' " + quoted(url) + " " + quoted(other) + " |");
    EXPECT_EQ(two_lines.status, 2) << two_lines.err;
    EXPECT_EQ(run({"shorten", "--idempotency-key", key, "--alias", "cli-key-alias", url}).status, 2);
    EXPECT_EQ(run({"shorten", "--idempotency-key", key, "--reuse", url}).status, 2);
    EXPECT_EQ(run({"shorten", "--idempotency-key", "", url}).status, 2);
    EXPECT_EQ(links_to(other), 0);

    EXPECT_EQ(with_completion("COMP_WORDS=(url-shortener shorten --idem); COMP_CWORD=2; "
                              "_url_shortener; echo \"${COMPREPLY[*]}\""),
              "--idempotency-key\n");
    /* The man page (from --help) names it under exit statuses 6 and 9. */
    EXPECT_NE(read_file(URL_SHORTENER_MAN_PAGE).find("idempotency\\-key"), std::string::npos);
    EXPECT_NE(run({"shorten", "--help"}).out.find("--idempotency-key"), std::string::npos);
}

TEST(Cli, ShortenAfterOutcomeUnknownNamesTheKeyThatSettlesIt)
{
    const std::string url = unique_url("cli-shorten-in-doubt");
    /* As for import (above): the client's one retry with the same key is lost too. */
    const CliRun lost = run_with_commit_and_retry_lost("shorten-in-doubt", {"shorten", url});
    EXPECT_EQ(lost.status, 6) << lost.err;
    EXPECT_EQ(lost.out, "");
    expect_one_error_line(lost);
    /* Not the library's advice, which names its API. */
    EXPECT_EQ(lost.err.find("idempotency_keys()"), std::string::npos) << lost.err;
    const std::string::size_type at = lost.err.find("--idempotency-key ");
    ASSERT_NE(at, std::string::npos) << lost.err;
    const std::string::size_type start = at + std::string("--idempotency-key ").size();
    const std::string key = lost.err.substr(start, lost.err.find(':', start) - start);
    ASSERT_FALSE(key.empty()) << lost.err;

    /* The lost COMMIT stored the link; the key prints its code and stores nothing more. */
    const std::string stored = only_code_of(url);
    ASSERT_NE(stored, "");
    const CliRun settled = run({"shorten", "--idempotency-key", key, url});
    ASSERT_EQ(settled.status, 0) << settled.err;
    EXPECT_EQ(settled.out, stored + "\n");
    EXPECT_EQ(links_to(url), 1);
}

/*
 * --expires-in is counted from each run, and an idempotency key stands for
 * the URL and its options to the microsecond: a second run with the key
 * asked for another expiry and was refused (exit 9).  So the two are a
 * usage error together, --expires-at names the expiry itself (the same
 * command twice prints one code), and after a lost COMMIT with
 * --expires-in the advice names the key and the expiry of the lost try as
 * --expires-at, which settle it.
 */
TEST(Cli, ExpiresInTakesNoKeyAndExpiresAtSettlesItsDoubt)
{
    const std::string url = unique_url("cli-expires-in-key");
    const CliRun both = run({"shorten", "--idempotency-key", "k-expires", "--expires-in", "3600", url});
    EXPECT_EQ(both.status, 2) << both.err;
    expect_one_error_line(both);
    EXPECT_NE(both.err.find("give --expires-at instead"), std::string::npos) << both.err;
    EXPECT_EQ(links_to(url), 0);

    const std::string at_url = unique_url("cli-expires-at-key");
    const std::string key = "k-at-" + std::to_string(getpid());
    const CliRun first = run({"shorten", "--idempotency-key", key, "--expires-at", "2099-01-31T12:00:00.25+01:00", at_url});
    ASSERT_EQ(first.status, 0) << first.err;
    const CliRun again = run({"shorten", "--expires-at", "2099-01-31T11:00:00.250Z", "--idempotency-key", key, at_url});
    EXPECT_EQ(again.status, 0) << again.err;
    EXPECT_EQ(again.out, first.out);   // the same instant, written another way
    EXPECT_EQ(links_to(at_url), 1);
    for (const char *bad : {"tomorrow", "2099-01-31", "2099-01-31T12:00:60Z", ""}) {
        const CliRun r = run({"shorten", "--expires-at", bad, unique_url("cli-expires-at-bad")});
        EXPECT_EQ(r.status, 2) << bad << ": " << r.err;
        expect_one_error_line(r);
    }

    const CliRun lost =
        run_with_commit_and_retry_lost("shorten-expires-in-doubt", {"shorten", "--expires-in", "3600", url});
    EXPECT_EQ(lost.status, 6) << lost.err;
    EXPECT_EQ(lost.out, "");
    expect_one_error_line(lost);
    const std::string::size_type at = lost.err.find("--expires-at ");
    const std::string::size_type key_at = lost.err.find("--idempotency-key ");
    ASSERT_NE(at, std::string::npos) << lost.err;
    ASSERT_NE(key_at, std::string::npos) << lost.err;
    const std::string expiry = lost.err.substr(at + 13, lost.err.find(' ', at + 13) - at - 13);
    const std::string::size_type key_start = key_at + std::string("--idempotency-key ").size();
    const std::string lost_key = lost.err.substr(key_start, lost.err.find(':', key_start) - key_start);
    const std::string stored = only_code_of(url);   // the lost COMMIT stored it
    ASSERT_NE(stored, "");
    const CliRun settled = run({"shorten", "--expires-at", expiry, "--idempotency-key", lost_key, url});
    ASSERT_EQ(settled.status, 0) << settled.err << " (expiry " << expiry << ", key " << lost_key << ")";
    EXPECT_EQ(settled.out, stored + "\n");
    EXPECT_EQ(links_to(url), 1);
}

TEST(Cli, ImportOfAFileThatCannotBeReadExitsThree)
{
    /*
     * The tests run as root, who may read any file whatever its mode, so a
     * chmod 000 file would be read.  /proc/self/mem opens for anyone who
     * may read their own memory, and reading it at offset 0 (never mapped)
     * fails with EIO: a file that really cannot be read.
     */
    const CliRun r = run({"import", "/proc/self/mem"});
    EXPECT_EQ(r.status, 3) << r.err;
    EXPECT_EQ(r.out, "");
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("cannot read \"/proc/self/mem\""), std::string::npos) << r.err;
}

TEST(Cli, IdempotencyPrefixIsCompletedAndInTheManPageWithExitNine)
{
    EXPECT_EQ(with_completion("COMP_WORDS=(url-shortener import --idem); COMP_CWORD=2; "
                              "_url_shortener; echo \"${COMPREPLY[*]}\""),
              "--idempotency-prefix\n");

    const std::string man = read_file(URL_SHORTENER_MAN_PAGE);
    EXPECT_NE(man.find("idempotency conflict"), std::string::npos);
    const CliRun help = run({"import", "--help"});
    EXPECT_NE(help.out.find("--idempotency-prefix"), std::string::npos) << help.out;
}

/* Bounds, escaping and the forms of numbers: what a black-box test found. */
namespace {

/*
 * A ulimit on the CLI's address space, so that input read without bound
 * ends in an allocation failure, not in the machine's OOM killer; none
 * under AddressSanitizer, which reserves terabytes of address space.
 */
#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif

std::string memory_limit(const char *kilobytes)
{
    return sanitized ? std::string() : "ulimit -v " + std::string(kilobytes) + ";";
}

/* Whether text has a byte below 0x20 (but its last "\n"), 0x7f or 0x9b. */
bool has_control_bytes(const std::string &text)
{
    for (std::size_t i = 0; i + 1 < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f || c == 0x9b)
            return true;
    }
    return false;
}

} // namespace

/*
 * A line longer than any URL the extension takes (1 MB, the most
 * max_url_length allows) is refused as input, 3, and the rest of it is not
 * read: before, import and shorten - buffered a line without end until
 * memory ran out and aborted (/dev/zero: std::bad_alloc, signal 6).
 */
TEST(Cli, ALineLongerThanAnyUrlIsRefusedWithoutReadingTheRest)
{
    const std::string good = unique_url("cli-long-line");
    const std::filesystem::path file =
        file_with("long-line", good + "\nhttps://example.com/" + std::string(2 << 20, 'a') + "\n");
    for (const auto &[args, input] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"import", file.string()}, "< /dev/null"},
             {{"import", "-"}, "< " + quoted(file.string())},
             {{"shorten", "-"}, "< " + quoted(file.string())}}) {
        const CliRun r = run(args, {}, input);
        EXPECT_EQ(r.status, 3) << args[0] << " " << args[1] << ": " << r.err;
        EXPECT_EQ(r.out, "");
        expect_one_error_line(r);
        EXPECT_NE(r.err.find("line 2 of"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("longer than 1048576 bytes"), std::string::npos) << r.err;
        EXPECT_LT(r.err.size(), 300u) << r.err;
    }
    std::filesystem::remove(file);
    EXPECT_EQ(links_to(good), 0);

    /* A line that never ends: refused at once, in bounded memory. */
    for (const auto &[args, input] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"import", "/dev/zero"}, "< /dev/null"},
             {{"import", "-"}, "< /dev/zero"},
             {{"shorten", "-"}, "< /dev/zero"}}) {
        const CliRun r = run(args, "timeout 120", input, memory_limit("1000000"));
        EXPECT_EQ(r.status, 3) << args[0] << " " << args[1] << " " << input << ": " << r.err;
        expect_one_error_line(r);
        EXPECT_NE(r.err.find("line 1 of"), std::string::npos) << r.err;
    }
}

/*
 * The limit itself: a line of exactly max_line_bytes (1 MiB) is a URL the
 * extension takes at its largest url_shortener.max_url_length, also when
 * its "\r\n" is split between two reads of the CLI (64 KiB each); one
 * byte more is refused before anything is sent.
 */
TEST(Cli, ALineOfExactlyOneMebibyteIsTakenAndOneByteMoreIsNot)
{
    constexpr std::size_t limit = 1048576;
    const std::string stem = unique_url("cli-mebibyte") + "/";
    const std::string url = stem + std::string(limit - stem.size(), 'a');
    /* A first line of 65,535 bytes puts the URL's "\r" last in a read. */
    const std::string comment = "#" + std::string(65533, 'x') + "\n";
    ASSERT_EQ((comment.size() + url.size()) % 65536, 65535u);
    const std::string large = "PGOPTIONS=" + quoted("-c url_shortener.max_url_length=1048576");

    const std::filesystem::path exact = file_with("mebibyte", comment + url + "\r\n");
    const CliRun r = run({"import", exact.string()}, large);
    std::filesystem::remove(exact);
    ASSERT_EQ(r.status, 0) << r.err.substr(0, 300);
    const std::vector<std::string> out = lines(r.out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].substr(out[0].find('\t') + 1), url);
    EXPECT_EQ(links_to(url), 1);
    const CliRun resolved = run({"resolve", out[0].substr(0, out[0].find('\t'))});
    EXPECT_EQ(resolved.out, url + "\n");

    const std::string over = url + "b";
    const std::filesystem::path longer = file_with("mebibyte-plus-one", comment + over + "\r\n");
    const CliRun refused = run({"import", longer.string()}, large);
    std::filesystem::remove(longer);
    EXPECT_EQ(refused.status, 3) << refused.err.substr(0, 300);
    expect_one_error_line(refused);
    EXPECT_NE(refused.err.find("line 2 of"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("longer than 1048576 bytes"), std::string::npos) << refused.err;
    EXPECT_EQ(links_to(over), 0);
}

/*
 * Memory that runs out all the same (endless short lines) is one line on
 * stderr and exit 6, not an abort; it ran out before anything was sent.
 */
TEST(Cli, RunningOutOfMemoryIsOneLineAndExitSixNotAnAbort)
{
    if (sanitized)
        GTEST_SKIP() << "a ulimit on the address space breaks AddressSanitizer";
    const CliRun r = run({"import", "-"}, "timeout 120", "",
                         memory_limit("300000") + " yes https://example.com/endless |");
    EXPECT_EQ(r.status, 6) << r.err;
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("out of memory"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was stored"), std::string::npos) << r.err;
}

/* A code from the command line is echoed as a refused URL is: no terminal escapes. */
TEST(Cli, ACodeIsEchoedWithoutControlBytes)
{
    const std::string code = "\x1b]0;pwned\x07\x9b";
    for (const std::vector<std::string> &args : std::vector<std::vector<std::string>>{
             {"resolve", code},
             {"stats", code},
             {"disable", code},
             {"enable", code},
             {"delete", code},
             {"update", code, unique_url("cli-code-escape"), "--version", "1"}}) {
        const CliRun r = run(args);
        EXPECT_EQ(r.status, 1) << args[0] << ": " << r.err;
        expect_one_error_line(r);
        EXPECT_FALSE(has_control_bytes(r.err)) << args[0] << ": " << r.err;
        EXPECT_NE(r.err.find("\"\\x1b]0;pwned\\x07\\x9b\""), std::string::npos)
            << args[0] << ": " << r.err;
    }
}

/*
 * Every numeric option is read alike: decimal digits only, and a value
 * past the range is refused, not clamped (update --version
 * 99999999999999999999 was sent as 9223372036854775807 and exited 8).
 */
TEST(Cli, EveryNumericOptionTakesDecimalDigitsAndRefusesOverflow)
{
    const std::string url = unique_url("cli-number-forms");
    const std::vector<std::pair<std::string, std::vector<std::string>>> options{
        {"--connect-timeout", {"--connect-timeout", "V", "resolve", "x"}},
        {"--statement-timeout", {"--statement-timeout", "V", "resolve", "x"}},
        {"--batch-size", {"import", "--batch-size", "V", "-"}},
        {"--batch-size", {"purge", "--batch-size", "V"}},
        {"--version", {"update", "x", url, "--version", "V"}},
        {"--expires-in", {"shorten", "--expires-in", "V", url}},
        {"--max-clicks", {"shorten", "--max-clicks", "V", url}}};
    for (const auto &[option, pattern] : options) {
        for (const char *value : {"0x10", " 1", "1 ", "+1", "-1", "1e3", "", "99999999999999999999",
                                  "18446744073709551617", "9223372036854775808"}) {
            std::vector<std::string> args = pattern;
            for (std::string &arg : args)
                if (arg == "V")
                    arg = value;
            const CliRun r = run(args);
            EXPECT_EQ(r.status, 2) << option << " \"" << value << "\": " << r.err;
            expect_one_error_line(r);
            EXPECT_NE(r.err.find(option + " must be a whole number from "), std::string::npos)
                << option << " \"" << value << "\": " << r.err;
        }
    }
    EXPECT_EQ(links_to(url), 0);
    /* The largest value is taken. */
    const CliRun largest = run({"update", "no-such-code", url, "--version", "9223372036854775807"});
    EXPECT_EQ(largest.status, 1) << largest.err;
}

/* A refused URL is echoed cut at 200 bytes with its size, as import names its line. */
TEST(Cli, ALongRefusedUrlIsEchoedCut)
{
    const std::string url = "https://example.com/" + std::string(5000, 'a');
    const std::filesystem::path file = file_with("long-url", url + "\n");
    for (const auto &[args, input] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"shorten", url}, "< /dev/null"},
             {{"shorten", "-"}, "< " + quoted(file.string())},
             {{"shorten", "--max-clicks", "3", url}, "< /dev/null"},
             {{"shorten", "--locked", unique_url("cli-long-url"), url}, "< /dev/null"}}) {
        const CliRun r = run(args, {}, input);
        EXPECT_EQ(r.status, 3) << args[1] << ": " << r.err;
        expect_one_error_line(r);
        EXPECT_LT(r.err.size(), 600u) << args[1] << ": " << r.err;
        EXPECT_NE(r.err.find("\"https://example.com/aaa"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("\"... (5020 bytes)"), std::string::npos) << r.err;
    }
    std::filesystem::remove(file);
}

/* A UTF-8 byte order mark opening the input is skipped; one elsewhere is not. */
TEST(Cli, AByteOrderMarkOpeningTheInputIsSkipped)
{
    const std::string bom = "\xef\xbb\xbf";
    const std::vector<std::string> urls{unique_url("cli-bom", 1), unique_url("cli-bom", 2),
                                        unique_url("cli-bom", 3)};
    const std::filesystem::path file = file_with("bom", bom + urls[0] + "\r\n" + urls[1] + "\r\n");
    const CliRun imported = run({"import", file.string()});
    std::filesystem::remove(file);
    ASSERT_EQ(imported.status, 0) << imported.err;
    ASSERT_EQ(lines(imported.out).size(), 2u);
    EXPECT_EQ(links_to(urls[0]), 1);

    const std::filesystem::path commented = file_with("bom-comment", bom + "# links\n" + urls[2] + "\n");
    const CliRun shortened = run({"shorten", "-"}, {}, "< " + quoted(commented.string()));
    std::filesystem::remove(commented);
    EXPECT_EQ(shortened.status, 0) << shortened.err;
    EXPECT_EQ(lines(shortened.out).size(), 1u);
    EXPECT_EQ(links_to(urls[2]), 1);

    const CliRun later = refused_import("bom-later", urls[0] + "\n" + bom + urls[1] + "\n");
    EXPECT_NE(later.err.find("line 2 of"), std::string::npos) << later.err;
}

/*
 * Output that cannot be written is exit 6 for --help and --version too,
 * and the message says what the command did: a read claims no stored links.
 */
TEST(Cli, OutputThatCannotBeWrittenIsExitSixForEveryCommandAndSaysWhatWasDone)
{
    for (const std::vector<std::string> &args : std::vector<std::vector<std::string>>{
             {"--help"}, {"--version"}, {"import", "--help"}}) {
        const CliRun r = run(args, {}, "< /dev/null > /dev/full");
        EXPECT_EQ(r.status, 6) << args[0] << ": " << r.err;
        expect_one_error_line(r);
        EXPECT_NE(r.err.find("could not write the output"), std::string::npos) << r.err;
    }
    const std::string code = lines(run({"shorten", unique_url("cli-full-read")}).out).at(0);
    const CliRun stats = run({"stats", code}, {}, "< /dev/null > /dev/full");
    EXPECT_EQ(stats.status, 6) << stats.err;
    expect_one_error_line(stats);
    EXPECT_EQ(stats.err.find("stored"), std::string::npos) << stats.err;
    EXPECT_NE(stats.err.find("changes nothing"), std::string::npos) << stats.err;
    const CliRun resolved = run({"resolve", code}, {}, "< /dev/null > /dev/full");
    EXPECT_EQ(resolved.status, 6) << resolved.err;
    EXPECT_EQ(resolved.err.find("stored"), std::string::npos) << resolved.err;
    EXPECT_NE(resolved.err.find("click was counted"), std::string::npos) << resolved.err;
}

/*
 * stats changes nothing: a connection lost while it runs is tried once
 * more on a new connection, and when that is lost too, it is 5 (run it
 * again), not 6 (check first).  Each backend is terminated while its
 * url_stats waits on a lock on urls.
 */
TEST(Cli, StatsWhoseConnectionIsLostExitsFive)
{
    const std::string code = lines(run({"shorten", unique_url("cli-stats-lost")}).out).at(0);
    const std::string name = unique_application_name("stats-lost");
    auto locker = connect();
    pqxx::work locking(*locker);
    locking.exec("LOCK TABLE urls IN ACCESS EXCLUSIVE MODE");
    auto stats = std::async(std::launch::async, [&] {
        return run({"--dsn", dsn("application_name=" + name), "stats", code}, "timeout 120");
    });
    /* Its statement, not its setup: the backend waits in url_stats. */
    const auto waiting_backend = [&](int other_than) {
        auto watcher = connect();
        for (int tries = 0; tries < 1200; ++tries) {
            pqxx::nontransaction q(*watcher);
            const pqxx::result rows = q.exec_params(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1 "
                "AND wait_event_type = 'Lock' AND query LIKE '%url_stats%' AND pid <> $2",
                name, other_than);
            if (!rows.empty())
                return rows[0][0].as<int>();
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return 0;
    };
    const int first = waiting_backend(0);
    ASSERT_NE(first, 0) << "stats never waited on the lock";
    terminate_backend(first);
    const int second = waiting_backend(first);
    ASSERT_NE(second, 0) << "stats was not tried again on a new connection";
    terminate_backend(second);
    const CliRun r = finish(stats);
    locking.abort();
    EXPECT_EQ(r.status, 5) << r.err;
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("running it again is safe"), std::string::npos) << r.err;
}

/*
 * A resolve whose backend is terminated while its click waits: exit 6, and
 * stderr says what is in doubt (the click, not whether the link exists)
 * and the server's reason.  Before, it said "check whether the link
 * exists" and left the reason out.
 */
TEST(Cli, AResolveWhoseConnectionIsLostSaysTheClickIsInDoubtAndWhy)
{
    const std::string code = lines(run({"shorten", unique_url("cli-resolve-lost")}).out).at(0);
    const std::string name = unique_application_name("resolve-lost");
    auto locker = connect();
    pqxx::work locking(*locker);
    locking.exec_params("SELECT resolve_url($1)", code);   // holds the link's row
    auto resolved = std::async(std::launch::async, [&] {
        return run({"--dsn", dsn("application_name=" + name), "resolve", code}, "timeout 120");
    });
    const int pid = backend_pid(name);
    wait_until_waiting_on_lock(pid);
    terminate_backend(pid);
    const CliRun r = finish(resolved);
    locking.abort();
    EXPECT_EQ(r.status, 6) << r.err;
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("the click may or may not have been counted"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("terminating connection due to administrator command"), std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("check whether the link exists"), std::string::npos) << r.err;
    EXPECT_EQ(clicks(code), 0);   // the other's click rolled back, the CLI's never committed

    /* Lost without a word from the server (the network): libpq's message
     * runs over three lines, and stderr is still one. */
    CommitCuttingProxy proxy;
    pqxx::work again(*locker);
    again.exec_params("SELECT resolve_url($1)", code);
    const std::string cut_name = unique_application_name("resolve-cut");
    auto cut = std::async(std::launch::async, [&] {
        return run({"--dsn", proxy.proxy_dsn("application_name=" + cut_name), "resolve", code},
                   "timeout 120");
    });
    wait_until_waiting_on_lock(backend_pid(cut_name));
    proxy.cut_everything();
    const CliRun c = finish(cut);
    again.abort();
    EXPECT_EQ(c.status, 6) << c.err;
    expect_one_error_line(c);
    EXPECT_NE(c.err.find("the click may or may not have been counted"), std::string::npos) << c.err;
}

/*
 * The client library's own refusal of a URL (not UTF-8, a NUL byte) is
 * not prefixed with "URL N of M" a second time, nor, in import, with a
 * count that is not the line's.
 */
TEST(Cli, ARefusalNamesItsUrlOnce)
{
    const CliRun r = run({"shorten", "https://a.example/\xff\xfe"});
    EXPECT_EQ(r.status, 3) << r.err;
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("was refused: the URL is not valid UTF-8"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("URL 1 of 1 is"), std::string::npos) << r.err;

    const CliRun nul = refused_import("nul-byte", "# one\n" + std::string("https://nul.example/\0x\n", 23));
    EXPECT_NE(nul.err.find("line 2 of"), std::string::npos) << nul.err;
    EXPECT_NE(nul.err.find("the URL contains a NUL byte"), std::string::npos) << nul.err;
    EXPECT_EQ(nul.err.find("URL 1 of 1"), std::string::npos) << nul.err;
}

/* Smaller messages: a directory as stdin says so, a timeout of a read says nothing of storing. */
TEST(Cli, MessagesSayWhatHappenedToThisCommand)
{
    const CliRun directory = run({"import", "-"}, {}, "< /tmp");
    EXPECT_EQ(directory.status, 3);
    EXPECT_NE(directory.err.find("cannot read standard input: it is a directory"),
              std::string::npos)
        << directory.err;

    /* resolve waits on the row a click in another transaction holds, past --statement-timeout. */
    const std::string code = lines(run({"shorten", unique_url("cli-read-timeout")}).out).at(0);
    auto other = connect();
    pqxx::work clicking(*other);
    clicking.exec_params("SELECT resolve_url($1)", code);
    const CliRun timed_out = run({"--statement-timeout", "1", "resolve", code}, "timeout 120");
    clicking.abort();
    EXPECT_EQ(timed_out.status, 5) << timed_out.err;
    EXPECT_NE(timed_out.err.find("57014"), std::string::npos) << timed_out.err;
    EXPECT_NE(timed_out.err.find("no click was counted"), std::string::npos) << timed_out.err;
    EXPECT_EQ(timed_out.err.find("stored"), std::string::npos) << timed_out.err;

    /* A role without privileges is told of USAGE on the schema too. */
    {
        auto admin = connect();
        pqxx::nontransaction t(*admin);
        t.exec("DROP ROLE IF EXISTS url_shortener_cli_no_grant");
        t.exec("CREATE ROLE url_shortener_cli_no_grant LOGIN PASSWORD 'no-grant'");
    }
    const CliRun denied = run({"--dsn", dsn("user=url_shortener_cli_no_grant password=no-grant"),
                               "resolve", code});
    {
        auto admin = connect();
        pqxx::nontransaction(*admin).exec("DROP ROLE url_shortener_cli_no_grant");
    }
    EXPECT_EQ(denied.status, 5) << denied.err;
    expect_one_error_line(denied);
    EXPECT_NE(denied.err.find("42501"), std::string::npos) << denied.err;
    EXPECT_NE(denied.err.find("GRANT USAGE on the extension's schema"), std::string::npos)
        << denied.err;
}
