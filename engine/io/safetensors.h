#pragma once
// Reading and writing the safetensors format (https://github.com/huggingface/safetensors), so
// zoograd checkpoints open in the Python ecosystem and PyTorch weights load here.
//
// Layout of a file:
//   bytes 0..8      N, the header length, a little-endian uint64
//   bytes 8..8+N    the header: a UTF-8 JSON object mapping each tensor name to
//                   {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, plus an
//                   optional "__metadata__" object of string -> string
//   bytes 8+N..     the data section: each tensor's raw little-endian, row-major bytes at
//                   [begin, end) relative to the start of the data section
//
// zoograd reads and writes the dtypes it has: F32, F64 and I32. The writer follows the
// reference implementation byte for byte: tensors sorted by dtype alignment (F64, F32, I32)
// then by name, compact JSON with "__metadata__" first, and the header padded with spaces so the
// data section starts 8-byte aligned. The reader accepts any tensor order and any padding, and
// rejects everything else that is wrong with a zg::Error naming the source and the problem
// (bad lengths, malformed JSON, missing, extra or duplicate keys, other dtypes, bad shapes, more
// than 64 dimensions, offsets that do not tile the data section exactly). Whatever the header
// claims, the tensor data it allocates never exceeds the input's own size.
#include <map>
#include <string>
#include <string_view>

#include "engine/tensor.h"

namespace zg {

struct SafetensorsFile {
    std::map<std::string, Tensor> tensors;
    std::map<std::string, std::string> metadata;
};

// The bytes of a safetensors file holding these tensors (CPU tensors of any dtype zoograd has;
// strided or non-contiguous views are packed row-major) and this string metadata.
std::string to_safetensors(const std::map<std::string, Tensor>& tensors,
                           const std::map<std::string, std::string>& metadata = {});

// Parses a whole safetensors file held in memory. `what` names the source in error messages.
// Tensors come back freshly allocated, contiguous, on the CPU, not requiring grad.
SafetensorsFile from_safetensors(std::string_view bytes, const std::string& what = "<memory>");

// Writes a safetensors file atomically: the bytes go to `path`.tmp, which is fsynced and then
// renamed over `path` (and the directory fsynced), so a crash leaves either the old file or
// the new one, never a torn one. On error the old file is untouched and the .tmp is removed.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads a safetensors file. The header is validated against the file's size before anything
// is allocated, and tensor data is read straight into the tensors' storage.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace zg
