/*
 * code_alphabet_fuzzer.cpp
 *    libFuzzer harness for url_shortener::check_alphabet and
 *    map_random_bytes.  It aborts when an alphabet verdict differs from the
 *    rule in code_alphabet.h, or when the byte-to-character mapping differs
 *    from rejection sampling done the obvious way: a byte below the
 *    acceptance limit becomes alphabet[byte % size], any other is dropped.
 *
 *    Input layout: byte 0 picks the mode and the number of characters
 *    wanted, then comes a candidate alphabet (its length from byte 1), then
 *    the random bytes.
 */
#include "code_alphabet.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using url_shortener::AlphabetProblem;
using url_shortener::AlphabetVerdict;
using url_shortener::CodeFill;
using url_shortener::acceptance_limit;
using url_shortener::check_alphabet;
using url_shortener::map_random_bytes;
using url_shortener::max_alphabet_size;

namespace {

[[noreturn]] void violation(const char *rule)
{
    std::fprintf(stderr, "invariant violated: %s\n", rule);
    std::abort();
}

#define REQUIRE(cond) \
    do { if (!(cond)) violation(#cond); } while (0)

bool is_unreserved(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

/* check_alphabet's rule, as the header states it. */
AlphabetVerdict expected_alphabet_verdict(const char *alphabet)
{
    const std::size_t n = std::strlen(alphabet);
    for (std::size_t i = 0; i < n; i++) {
        if (!is_unreserved(alphabet[i]))
            return {AlphabetProblem::not_url_safe, alphabet[i]};
        if (std::memchr(alphabet, alphabet[i], i) != nullptr)
            return {AlphabetProblem::duplicate, alphabet[i]};
    }
    if (n < 2)
        return {AlphabetProblem::too_short, '\0'};
    if (n > max_alphabet_size)
        return {AlphabetProblem::too_long, '\0'};
    return {AlphabetProblem::none, '\0'};
}

/*
 * Maps bytes onto alphabet[0..size) for wanted characters and checks
 * map_random_bytes against the reference, in one call and in two calls
 * split at split (as a caller refilling its random buffer would).
 */
void check_mapping(const std::uint8_t *bytes, std::size_t byte_count, const char *alphabet,
                   std::size_t size, std::size_t wanted, std::size_t split)
{
    const unsigned limit = acceptance_limit(size);
    REQUIRE(limit <= 256 && limit % size == 0 && 256 - limit < size);

    /* Reference: every byte below the limit accepted, every other rejected. */
    std::vector<char> expected;
    std::size_t expected_consumed = 0;
    while (expected.size() < wanted && expected_consumed < byte_count) {
        const std::uint8_t b = bytes[expected_consumed++];
        if (b < limit)
            expected.push_back(alphabet[b % size]);
    }

    /* Exactly wanted bytes of output: a write past them is an ASan report. */
    char *code = new char[wanted > 0 ? wanted : 1];
    const CodeFill fill = map_random_bytes(bytes, byte_count, alphabet, size, code, wanted);
    REQUIRE(fill.written <= wanted);
    REQUIRE(fill.consumed <= byte_count);
    REQUIRE(fill.written == expected.size());
    REQUIRE(fill.consumed == expected_consumed);
    REQUIRE(fill.written == 0 || std::memcmp(code, expected.data(), fill.written) == 0);
    for (std::size_t i = 0; i < fill.written; i++)
        REQUIRE(std::memchr(alphabet, code[i], size) != nullptr);
    /* Stops at once when done; uses every byte when not. */
    if (fill.written < wanted)
        REQUIRE(fill.consumed == byte_count);
    else if (wanted > 0)
        REQUIRE(bytes[fill.consumed - 1] < limit);

    /* Two calls, the second given the rest of the bytes, write the same. */
    if (split > byte_count)
        split = byte_count;
    char *refilled = new char[wanted > 0 ? wanted : 1];
    const CodeFill first = map_random_bytes(bytes, split, alphabet, size, refilled, wanted);
    REQUIRE(first.consumed <= split && first.written <= wanted);
    const CodeFill second = map_random_bytes(bytes + first.consumed, byte_count - first.consumed,
                                             alphabet, size, refilled + first.written,
                                             wanted - first.written);
    REQUIRE(first.written + second.written == fill.written);
    REQUIRE(first.consumed + second.consumed == fill.consumed);
    REQUIRE(fill.written == 0 || std::memcmp(code, refilled, fill.written) == 0);

    delete[] refilled;
    delete[] code;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t length)
{
    if (length < 3)
        return 0;
    const bool raw_size = (data[0] & 0x80) != 0;       /* any size 2..256, not a checked alphabet */
    const std::size_t wanted = data[0] & 0x7f;         /* 0..127 characters */
    const std::size_t split = data[2];
    data += 3;
    length -= 3;

    if (raw_size) {
        /* map_random_bytes alone, for every alphabet size it allows. */
        const std::size_t size = 2 + data[-2] % 255;
        char alphabet[256];
        for (std::size_t i = 0; i < size; i++)
            alphabet[i] = static_cast<char>(i);
        check_mapping(data, length, alphabet, size, wanted, split);
        return 0;
    }

    /* A candidate alphabet of up to 80 bytes, NUL-terminated where it ends. */
    std::size_t alphabet_bytes = data[-2] % 81;
    if (alphabet_bytes > length)
        alphabet_bytes = length;
    char alphabet[81];
    std::memcpy(alphabet, data, alphabet_bytes);
    alphabet[alphabet_bytes] = '\0';
    data += alphabet_bytes;
    length -= alphabet_bytes;

    const AlphabetVerdict v = check_alphabet(alphabet);
    const AlphabetVerdict expected = expected_alphabet_verdict(alphabet);
    REQUIRE(v.problem == expected.problem);
    REQUIRE(v.character == expected.character);
    REQUIRE(v.problem != AlphabetProblem::too_long);    /* impossible with distinct characters */

    if (v.problem == AlphabetProblem::none)
        check_mapping(data, length, alphabet, std::strlen(alphabet), wanted, split);
    return 0;
}
