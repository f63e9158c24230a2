/*
 * qr_code.cpp
 *    QR codes as SVG and PNG (see qr_code.h).
 *
 *    libpng reports errors by longjmp to a setjmp point.  The function
 *    holding that point (write_png_rows) is C-style: only trivial locals,
 *    every C++ object it touches is owned by its caller, so a longjmp skips
 *    no destructor.
 */
#include "qr_code.h"

#include <csetjmp>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include <png.h>
#include <qrencode.h>

namespace url_shortener::server {

namespace {

constexpr int quiet_zone = 4;      /* modules of white around the symbol */
constexpr int png_module_px = 8;   /* pixels per module in the PNG */

/* The symbol as rows of dark (true) and light modules, quiet zone included. */
struct Modules {
    int width = 0;                 /* per side, quiet zone included */
    std::vector<bool> dark;
    bool at(int x, int y) const { return dark[static_cast<std::size_t>(y * width + x)]; }
};

/* Encodes text in byte mode at error-correction level M (15 % damage). */
Modules encode(const std::string &text)
{
    std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
        QRcode_encodeString8bit(text.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
    if (!code)
        throw std::runtime_error("cannot encode a QR code of " + std::to_string(text.size()) +
                                 " bytes");
    Modules modules;
    modules.width = code->width + 2 * quiet_zone;
    modules.dark.assign(static_cast<std::size_t>(modules.width * modules.width), false);
    for (int y = 0; y < code->width; ++y)
        for (int x = 0; x < code->width; ++x)
            modules.dark[static_cast<std::size_t>((y + quiet_zone) * modules.width + x +
                                                  quiet_zone)] =
                (code->data[y * code->width + x] & 1) != 0;
    return modules;
}

/* libpng's output callback: appends to the std::string behind io_ptr. */
void append_png_bytes(png_structp png, png_bytep data, png_size_t length)
{
    static_cast<std::string *>(png_get_io_ptr(png))->append(reinterpret_cast<char *>(data), length);
}

void flush_nothing(png_structp) {}

/*
 * Writes a grayscale PNG of the given rows into out.  Returns false if
 * libpng failed.  C-style on purpose: libpng's error path longjmps back to
 * the setjmp here, so nothing in this frame may have a destructor.
 */
bool write_png_rows(std::string *out, png_bytep *rows, png_uint_32 side)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    if (png == nullptr)
        return false;
    png_infop info = png_create_info_struct(png);
    if (info == nullptr) {
        png_destroy_write_struct(&png, nullptr);
        return false;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return false;
    }
    png_set_write_fn(png, out, append_png_bytes, flush_nothing);
    png_set_IHDR(png, info, side, side, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return true;
}

} // namespace

std::string qr_svg(const std::string &text)
{
    const Modules modules = encode(text);
    const std::string side = std::to_string(modules.width);
    std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" +
                      std::to_string(modules.width * png_module_px) + "\" height=\"" +
                      std::to_string(modules.width * png_module_px) + "\" viewBox=\"0 0 " + side +
                      " " + side + "\" shape-rendering=\"crispEdges\">\n"
                      "<rect width=\"" + side + "\" height=\"" + side + "\" fill=\"#fff\"/>\n"
                      "<path fill=\"#000\" d=\"";
    for (int y = 0; y < modules.width; ++y)
        for (int x = 0; x < modules.width; ++x)
            if (modules.at(x, y))
                svg += "M" + std::to_string(x) + " " + std::to_string(y) + "h1v1h-1z";
    svg += "\"/>\n</svg>\n";
    return svg;
}

std::string qr_png(const std::string &text)
{
    const Modules modules = encode(text);
    const int side = modules.width * png_module_px;
    std::vector<png_byte> pixels(static_cast<std::size_t>(side) * static_cast<std::size_t>(side));
    std::vector<png_bytep> rows(static_cast<std::size_t>(side));
    for (int y = 0; y < side; ++y) {
        png_bytep row = &pixels[static_cast<std::size_t>(y) * static_cast<std::size_t>(side)];
        rows[static_cast<std::size_t>(y)] = row;
        for (int x = 0; x < side; ++x)
            row[x] = modules.at(x / png_module_px, y / png_module_px) ? 0 : 255;
    }
    std::string png;
    if (!write_png_rows(&png, rows.data(), static_cast<png_uint_32>(side)))
        throw std::runtime_error("cannot write the QR code as PNG");
    return png;
}

} // namespace url_shortener::server
