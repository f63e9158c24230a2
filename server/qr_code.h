/*
 * qr_code.h
 *    QR codes of short URLs (libqrencode), drawn as SVG or PNG (libpng),
 *    with the four-module quiet zone the standard asks for.
 */
#ifndef URL_SHORTENER_SERVER_QR_CODE_H
#define URL_SHORTENER_SERVER_QR_CODE_H

#include <cstddef>
#include <string>

namespace url_shortener::server {

/* The most bytes a QR code holds here: version 40, byte mode, level M. */
inline constexpr std::size_t qr_max_bytes = 2331;

/* Each throws std::runtime_error if the text cannot be encoded or drawn. */
std::string qr_svg(const std::string &text);
std::string qr_png(const std::string &text);

} // namespace url_shortener::server

#endif
