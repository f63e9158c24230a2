/*
 * cli_test.cpp
 *    The url-shortener command, run as a program: what it prints on stdout
 *    and the exit code it returns for each outcome.
 */
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include <pqxx/transaction>

#include "silent_listener.h"
#include "test_database.h"

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

/*
 * Runs url-shortener with args against the test database; environment is
 * put before the command (e.g. "PGOPTIONS='...'"), input after it (e.g.
 * "< file").
 */
CliRun run(const std::vector<std::string> &args, const std::string &environment = {},
        const std::string &input = "< /dev/null")
{
    const std::filesystem::path err = scratch_file("stderr");
    std::string command = "PGDATABASE=" + std::string(database_name) + " " + environment + " " +
                          quoted(URL_SHORTENER_CLI);
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

TEST(Cli, ShortenSeveralUrlsPrintsOneCodeEach)
{
    const CliRun r = run({"shorten", unique_url("cli-several", 1), unique_url("cli-several", 2)});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(lines(r.out).size(), 2u);
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

TEST(Cli, ExhaustedCodeSpaceExitsFour)
{
    /* Alphabet "cd": a code space no other test uses. */
    const std::string tiny = "PGOPTIONS=" + quoted("-c url_shortener.code_length=1 "
                                                   "-c url_shortener.alphabet=cd "
                                                   "-c url_shortener.max_attempts=200");
    const CliRun r = run({"shorten", unique_url("cli-exhaust", 1), unique_url("cli-exhaust", 2),
                       unique_url("cli-exhaust", 3)},
                      tiny);
    EXPECT_EQ(r.status, 4);
    const std::vector<std::string> codes = lines(r.out);
    ASSERT_EQ(codes.size(), 2u);
    EXPECT_NE(codes[0], codes[1]);
    expect_one_error_line(r);
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
    EXPECT_EQ(links_to(good), 0);
}

TEST(Cli, ImportOfAMissingFileExitsThree)
{
    const CliRun r = run({"import", "/nonexistent/urls.txt"});
    EXPECT_EQ(r.status, 3);
    expect_one_error_line(r);
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

TEST(Cli, PurgePrintsACount)
{
    const CliRun r = run({"purge", "--batch-size", "10"});
    EXPECT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(lines(r.out).size(), 1u);
    EXPECT_GE(std::stoll(r.out), 0);
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
    auto holder = connect();
    pqxx::work holding(*holder);
    holding.exec("SELECT pg_advisory_xact_lock(1431456851, 1)");
    const std::string url = unique_url("cli-statement-timeout");
    const CliRun r = run({"--statement-timeout", "1", "shorten", "--locked", url}, "timeout 120");
    holding.abort();
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
             {"--dsn", "postgresql://[::1", "resolve", "x"}}) {
        const CliRun r = run(args);
        EXPECT_EQ(r.status, 2) << args[0] << " " << args[1] << ": " << r.err;
        expect_one_error_line(r);
    }
}
