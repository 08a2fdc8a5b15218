#pragma once
// Writing samples where people can look at them: PNG grids, single PNGs, NumPy arrays.
#include <string>

#include "engine/tensor.h"

namespace zg::zoo {

// images [N, C, H, W] in [-1, 1] → one PNG grid with `nrow` images per row and a 2-pixel gap.
void save_image_grid(const Tensor& images, const std::string& path, int64_t nrow = 8);
// One PNG per image: dir/000000.png ...
void save_images(const Tensor& images, const std::string& dir);
// A NumPy .npy file (format version 1.0) of the float32 tensor, readable with numpy.load.
void save_npy(const Tensor& t, const std::string& path);

// A NumPy .npy file (format 1.x or 2.x, C order) of float32 ('<f4') or uint8 ('|u1'), as a
// float32 tensor of its shape; uint8 values stay 0..255 and set `uint8`. The magic, header,
// dtype, shape and file length are all checked: anything else is a zg::Error naming the file.
struct NpyArray {
    Tensor data;
    bool uint8 = false;
};
NpyArray load_npy(const std::string& path);

}  // namespace zg::zoo
