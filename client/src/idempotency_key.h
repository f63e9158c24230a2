/*
 * idempotency_key.h
 *    Idempotency keys (extension 1.3): the random ones the client makes when
 *    the caller gives none, and the checks of a caller's keys before
 *    anything is sent.
 */
#ifndef URL_SHORTENER_CLIENT_IDEMPOTENCY_KEY_H
#define URL_SHORTENER_CLIENT_IDEMPOTENCY_KEY_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace url_shortener {

/* The longest key the extension takes, in bytes. */
inline constexpr std::size_t max_idempotency_key_bytes = 255;

/* 128 random bits: a generated key before it is written as hex. */
using RandomKey = std::array<std::uint8_t, 16>;

/*
 * count random keys from the operating system's CSPRNG (getrandom(2)),
 * never from a seeded pseudo-random generator: two clients must never
 * draw the same key.  Throws ServerError if the kernel refuses.
 */
std::vector<RandomKey> random_keys(std::size_t count);

/* A key as the 32 lower-case hex digits sent to the server. */
std::string hex(const RandomKey &key);

/* One fresh random key, as hex. */
std::string random_key_text();

/*
 * Refuses, with InvalidArgument (22023), a key the server would refuse:
 * empty or longer than 255 bytes (22023 there too), or holding a NUL byte
 * (which libpq cannot send).  what names the key ("idempotency key",
 * "idempotency key 3 of 10").
 */
void check_idempotency_key(std::string_view key, const std::string &what = "idempotency key");

/*
 * The keys of one shorten_many: none (an extension older than 1.3), the
 * caller's (checked, one per URL), or one random key per URL drawn once,
 * so every retry of the call sends the same ones.  Random keys are kept as
 * 16 bytes each and written as hex only for the chunk being sent.
 */
class BatchKeys {
public:
    BatchKeys() = default;

    /*
     * The caller's keys, which must outlive this; throws InvalidArgument
     * (22023) unless there is one per URL, each 1 to 255 bytes without a
     * NUL byte.
     */
    BatchKeys(const std::vector<std::string> &keys, std::size_t url_count);

    /* A random key for each of url_count URLs. */
    static BatchKeys random(std::size_t url_count);

    bool empty() const { return caller_ == nullptr && random_.empty(); }

    /* Every key as sent, one per URL (none for an extension older than 1.3). */
    std::vector<std::string> texts() const;

    /* The text[] literal of the keys of URLs [begin, end). */
    std::string literal(std::size_t begin, std::size_t end) const;

private:
    const std::vector<std::string> *caller_ = nullptr;
    std::vector<RandomKey> random_;
};

} // namespace url_shortener

#endif
