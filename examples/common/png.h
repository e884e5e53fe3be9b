// A minimal PNG writer for the examples' pictures (8-bit RGB, one IDAT
// chunk compressed by zlib; PNG spec, W3C 2003). Examples only: the library
// itself does not depend on zlib.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace examples {

struct Image {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // width * height * 3
  Image(int w, int h) : width(w), height(h), rgb(static_cast<std::size_t>(w) * h * 3, 255) {}
  void set(int x, int y, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
    std::uint8_t* p = &rgb[(static_cast<std::size_t>(y) * width + x) * 3];
    p[0] = r, p[1] = g, p[2] = b;
  }
};

// Text in a 5x7 pixel font (upper case, digits, - / : . , ( ) % =; lower
// case is drawn as upper case), each pixel `scale` x `scale`, its top-left
// corner at (x, y). Returns the width drawn.
int draw_text(Image& img, int x, int y, const std::string& text, int scale, const std::uint8_t* rgb);
int text_width(const std::string& text, int scale);
// Fills the rectangle [x, x + w) x [y, y + h).
void fill(Image& img, int x, int y, int w, int h, const std::uint8_t* rgb);

// Writes img to path; false (and a message on stderr) if it could not.
bool write_png(const std::string& path, const Image& img);

// A heat colour for v in [0, 1] (dark blue, through red, to yellow).
void heat(float v, std::uint8_t* rgb);

}  // namespace examples
