#include "png.h"

#include <cstdio>
#include <zlib.h>

namespace examples {
namespace {

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}

// A chunk: length, type, data, CRC-32 over type and data.
void chunk(std::vector<std::uint8_t>& out, const char* type, const std::vector<std::uint8_t>& data) {
  put32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put32(out, static_cast<std::uint32_t>(crc32(0L, out.data() + start, static_cast<uInt>(out.size() - start))));
}

}  // namespace

bool write_png(const std::string& path, const Image& img) {
  std::vector<std::uint8_t> raw;  // each scanline: filter type 0, then RGB
  raw.reserve(static_cast<std::size_t>(img.height) * (img.width * 3 + 1));
  for (int y = 0; y < img.height; ++y) {
    raw.push_back(0);
    raw.insert(raw.end(), img.rgb.begin() + static_cast<std::ptrdiff_t>(y) * img.width * 3,
               img.rgb.begin() + static_cast<std::ptrdiff_t>(y + 1) * img.width * 3);
  }
  uLongf zlen = compressBound(static_cast<uLong>(raw.size()));
  std::vector<std::uint8_t> z(zlen);
  if (compress2(z.data(), &zlen, raw.data(), static_cast<uLong>(raw.size()), 9) != Z_OK) {
    std::fprintf(stderr, "%s: zlib could not compress the image\n", path.c_str());
    return false;
  }
  z.resize(zlen);
  std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<std::uint8_t> ihdr;
  put32(ihdr, static_cast<std::uint32_t>(img.width));
  put32(ihdr, static_cast<std::uint32_t>(img.height));
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8 bits, RGB, deflate, no filter set, no interlace
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", {});
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(png.data(), 1, png.size(), f) != png.size()) {
    std::fprintf(stderr, "%s: cannot write\n", path.c_str());
    if (f) std::fclose(f);
    return false;
  }
  return std::fclose(f) == 0;
}

void heat(float v, std::uint8_t* rgb) {
  v = v < 0 ? 0 : v > 1 ? 1 : v;
  const float r = v < 0.5f ? 2 * v : 1.0f, g = v < 0.5f ? 0.0f : 2 * (v - 0.5f);
  const float b = v < 0.5f ? 0.5f * (1 - 2 * v) + 0.2f : 0.0f;
  rgb[0] = static_cast<std::uint8_t>(255 * r), rgb[1] = static_cast<std::uint8_t>(255 * g);
  rgb[2] = static_cast<std::uint8_t>(255 * b);
}

}  // namespace examples
