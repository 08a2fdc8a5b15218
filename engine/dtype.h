#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/error.h"

namespace zg {

// float32 trains; float64 exists for tight gradient checks and metric math; int32 holds labels.
enum class DType { f32, f64, i32 };

inline size_t dtype_size(DType t) {
    return t == DType::f64 ? 8 : 4;
}
inline const char* dtype_name(DType t) {
    switch (t) {
        case DType::f32:
            return "float32";
        case DType::f64:
            return "float64";
        case DType::i32:
            return "int32";
    }
    return "?";
}
inline bool is_floating(DType t) {
    return t != DType::i32;
}

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
    return DType::f32;
}
template <>
constexpr DType dtype_of<double>() {
    return DType::f64;
}
template <>
constexpr DType dtype_of<int32_t>() {
    return DType::i32;
}

// Calls f.template operator()<T>() with T the C++ type of `t`: kernels are written once as
// templates and this picks the instantiation at run time.
template <class F>
decltype(auto) dispatch(DType t, F&& f) {
    switch (t) {
        case DType::f32:
            return f.template operator()<float>();
        case DType::f64:
            return f.template operator()<double>();
        case DType::i32:
            return f.template operator()<int32_t>();
    }
    throw Error("dispatch: unknown dtype");
}
// Same, for kernels that only make sense on floating types.
template <class F>
decltype(auto) dispatch_float(DType t, const char* op, F&& f) {
    switch (t) {
        case DType::f32:
            return f.template operator()<float>();
        case DType::f64:
            return f.template operator()<double>();
        default:
            throw Error(std::string(op) + ": expected a float32 or float64 tensor, got " +
                        dtype_name(t));
    }
}

}  // namespace zg
