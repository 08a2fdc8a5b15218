// Random tensors, all drawn from the Philox generator (engine/rng.h).
#include "engine/ops/plumbing.h"
#include "engine/rng.h"

namespace zg {

static Tensor random_tensor(RandomKind kind, const Shape& shape, DType dtype, Rng* gen, double a,
                            double b) {
    Tensor t = empty(shape, dtype);
    backend(t).random(kind, t, gen ? *gen : default_rng(), a, b);
    return t;
}

Tensor uniform(const Shape& shape, double lo, double hi, Rng* gen, DType dtype) {
    ZG_CHECK(lo < hi, "uniform: need lo < hi, got [", lo, ", ", hi, ")");
    return random_tensor(RandomKind::uniform, shape, dtype, gen, lo, hi);
}
Tensor rand(const Shape& shape, Rng* gen, DType dtype) {
    return uniform(shape, 0.0, 1.0, gen, dtype);
}
Tensor normal(const Shape& shape, double mean, double std, Rng* gen, DType dtype) {
    ZG_CHECK(std >= 0, "normal: standard deviation must be non-negative, got ", std);
    return random_tensor(RandomKind::normal, shape, dtype, gen, mean, std);
}
Tensor randn(const Shape& shape, Rng* gen, DType dtype) {
    return normal(shape, 0.0, 1.0, gen, dtype);
}
Tensor bernoulli(const Shape& shape, double p, Rng* gen, DType dtype) {
    ZG_CHECK(p >= 0 && p <= 1, "bernoulli: probability must be in [0, 1], got ", p);
    return random_tensor(RandomKind::bernoulli, shape, dtype, gen, p, 0);
}
Tensor randint(int32_t low, int32_t high, const Shape& shape, Rng* gen) {
    ZG_CHECK(low < high, "randint: need low < high, got [", low, ", ", high, ")");
    return random_tensor(RandomKind::randint, shape, DType::i32, gen, low, high);
}
Tensor randperm(int64_t n, Rng* gen) {
    ZG_CHECK(n >= 0, "randperm: n must be non-negative, got ", n);
    Tensor t = empty({n}, DType::i32);
    fill_randperm(t.data<int32_t>(), (size_t)n, gen ? *gen : default_rng());
    return t;
}

}  // namespace zg
