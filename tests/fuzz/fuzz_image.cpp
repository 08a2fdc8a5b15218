// libFuzzer target for the image reader of image folders (stb_image: PNG, JPEG, BMP, GIF, TGA,
// PNM): any byte string must either decode or throw zg::Error. Any other exception, a crash, a
// sanitizer report or a huge allocation is a bug. Decoded images are also resized as an image
// folder's are, to check the shapes.
//
// stb_image's decoders are compiled here, with the fuzzer's coverage instrumentation and the
// sanitizers, so the fuzzer is guided through them; they take the place of the prebuilt
// Debian libstb's (same header, same version) that zoograd links.
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "engine/error.h"
#include "nn/data/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const int64_t channels = data[0] % 2 ? 3 : 1;  // the first byte picks grey or RGB
    try {
        const zg::Tensor img = zg::nn::decode_image(data + 1, size - 1, "<fuzz>", channels);
        if (img.dim() != 3 || img.size(0) != channels || img.size(1) < 1 || img.size(2) < 1)
            std::abort();
        const zg::Tensor fitted = zg::nn::fit_images(img.unsqueeze(0), 8);
        if (fitted.shape() != zg::Shape{1, channels, 8, 8}) std::abort();
    } catch (const zg::Error&) {
    }
    return 0;
}
