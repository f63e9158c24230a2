/*
 * idempotency_key.cpp
 *    Random idempotency keys from the kernel's CSPRNG, and key checks.
 */
#include "idempotency_key.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include "failure_classification.h"
#include "text_array.h"
#include "url_shortener/errors.h"

namespace url_shortener {

std::vector<RandomKey> random_keys(std::size_t count)
{
    std::vector<RandomKey> keys(count);
    auto *bytes = reinterpret_cast<unsigned char *>(keys.data());
    std::size_t wanted = count * sizeof(RandomKey);
    /* getrandom returns at most 32 MiB per call, and may be interrupted. */
    while (wanted > 0) {
        const ssize_t got = getrandom(bytes, wanted, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            throw ServerError(std::string("could not draw a random idempotency key: ") +
                              std::strerror(errno));
        }
        bytes += got;
        wanted -= static_cast<std::size_t>(got);
    }
    return keys;
}

std::string hex(const RandomKey &key)
{
    static const char digits[] = "0123456789abcdef";
    std::string text(2 * key.size(), '0');
    for (std::size_t i = 0; i < key.size(); ++i) {
        text[2 * i] = digits[key[i] >> 4];
        text[2 * i + 1] = digits[key[i] & 0x0f];
    }
    return text;
}

std::string random_key_text()
{
    return hex(random_keys(1).front());
}

void check_idempotency_key(std::string_view key, const std::string &what)
{
    if (key.empty() || key.size() > max_idempotency_key_bytes)
        throw InvalidArgument(what + " must be 1 to " +
                                  std::to_string(max_idempotency_key_bytes) + " bytes long",
                              sqlstate_invalid_argument,
                              ClientReport("It has " + std::to_string(key.size()) + " bytes."));
    if (key.find('\0') != std::string_view::npos)
        throw InvalidArgument(what + " contains a NUL byte", sqlstate_invalid_argument);
}

BatchKeys::BatchKeys(const std::vector<std::string> &keys, std::size_t url_count) : caller_(&keys)
{
    if (keys.size() != url_count)
        throw InvalidArgument("shorten_many needs one idempotency key per URL",
                              sqlstate_invalid_argument,
                              ClientReport("It was given " + std::to_string(keys.size()) +
                                           " keys for " + std::to_string(url_count) + " URLs."));
    for (std::size_t i = 0; i < keys.size(); ++i)
        check_idempotency_key(keys[i], "idempotency key " + std::to_string(i + 1) + " of " +
                                           std::to_string(keys.size()));
}

BatchKeys BatchKeys::random(std::size_t url_count)
{
    BatchKeys keys;
    keys.random_ = random_keys(url_count);
    return keys;
}

std::vector<std::string> BatchKeys::texts() const
{
    if (caller_)
        return *caller_;
    std::vector<std::string> texts;
    texts.reserve(random_.size());
    for (const RandomKey &key : random_)
        texts.push_back(hex(key));
    return texts;
}

std::string BatchKeys::literal(std::size_t begin, std::size_t end) const
{
    if (caller_)
        return text_array_literal(caller_->data() + begin, caller_->data() + end);
    std::vector<std::string> texts;
    texts.reserve(end - begin);
    for (std::size_t i = begin; i < end; ++i)
        texts.push_back(hex(random_[i]));
    return text_array_literal(texts.data(), texts.data() + texts.size());
}

} // namespace url_shortener
