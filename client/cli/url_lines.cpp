/*
 * url_lines.cpp
 *    One URL per line, trimmed, without blanks and comments, and the
 *    input's SHA-256 (url_lines.h).
 */
#include "url_lines.h"

#include <memory>
#include <stdexcept>

#include <openssl/evp.h>

namespace url_shortener::cli {

namespace {

/* An OpenSSL SHA-256 context. */
class Sha256 {
public:
    Sha256() : context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free)
    {
        if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1)
            throw std::runtime_error("cannot start SHA-256");
    }

    void update(const char *data, std::size_t size)
    {
        if (size > 0 && EVP_DigestUpdate(context_.get(), data, size) != 1)
            throw std::runtime_error("cannot compute SHA-256");
    }

    std::string hex()
    {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int size = 0;
        if (EVP_DigestFinal_ex(context_.get(), digest, &size) != 1)
            throw std::runtime_error("cannot compute SHA-256");
        static const char digits[] = "0123456789abcdef";
        std::string text;
        for (unsigned int i = 0; i < size; ++i) {
            text += digits[digest[i] >> 4];
            text += digits[digest[i] & 0x0f];
        }
        return text;
    }

private:
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

/* Whether line, read to its "\n" (ended) or not yet, is longer than max_line_bytes. */
bool too_long(const std::string &line, bool ended)
{
    /* A "\r" before the "\n" is the line end, not part of the line; one
     * not yet ended may still end with "\r\n". */
    std::size_t size = line.size();
    if (size > 0 && line.back() == '\r' && (ended || size == max_line_bytes + 1))
        --size;
    return size > max_line_bytes;
}

/* The UTF-8 byte order mark, which editors on Windows put before a file's text. */
constexpr char utf8_bom[] = "\xef\xbb\xbf";

/* Keeps line (number) unless it is blank or a comment, trimmed. */
void add_line(UrlLines &result, const std::string &line, std::size_t number)
{
    static const char *const whitespace = " \t\r\n\v\f";
    const std::size_t bom = number == 1 && line.rfind(utf8_bom, 0) == 0 ? 3 : 0;
    const std::size_t first = line.find_first_not_of(whitespace, bom);
    if (first == std::string::npos || line[first] == '#')
        return;
    const std::size_t last = line.find_last_not_of(whitespace);
    result.urls.push_back(line.substr(first, last - first + 1));
    result.line_numbers.push_back(number);
}

} // namespace

std::string too_long_line_reason()
{
    return "it is longer than " + std::to_string(max_line_bytes) +
           " bytes, more than url_shortener.max_url_length ever allows";
}

UrlLines read_url_lines(std::istream &in)
{
    UrlLines result;
    Sha256 sha;
    std::string line;
    std::size_t number = 1;
    char block[65536];
    while (in) {
        in.read(block, sizeof(block));
        const std::size_t got = static_cast<std::size_t>(in.gcount());
        sha.update(block, got);
        std::size_t start = 0;
        for (std::size_t i = 0; i < got; ++i)
            if (block[i] == '\n') {
                line.append(block + start, i - start);
                if (too_long(line, true)) {
                    result.too_long_line = number;
                    return result;
                }
                add_line(result, line, number++);
                line.clear();
                start = i + 1;
            }
        /* At most one block past the limit is ever held: the rest of a
         * longer line (of /dev/zero, say) is never read. */
        line.append(block + start, got - start);
        if (too_long(line, false)) {
            result.too_long_line = number;
            return result;
        }
    }
    if (too_long(line, true)) {
        result.too_long_line = number;
        return result;
    }
    if (!line.empty())
        add_line(result, line, number);
    result.sha256 = sha.hex();
    return result;
}

} // namespace url_shortener::cli
