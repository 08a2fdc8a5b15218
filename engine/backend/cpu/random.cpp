// Random fills of the CPU backend: the Philox streams of engine/rng.h written into a tensor.
#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/cpu/strided.h"
#include "engine/rng.h"

namespace zg::cpu {

void CpuBackend::random(RandomKind kind, const Tensor& out, Rng& gen, double a, double b) {
    const size_t n = (size_t)out.numel();
    if (kind == RandomKind::randint) {
        fill_randint(out.data<int32_t>(), n, gen, (int32_t)a, (int32_t)b);
        return;
    }
    dispatch_float(out.dtype(), "random", [&]<class T>() {
        T* p = out.data<T>();
        if (kind == RandomKind::uniform)
            fill_uniform<T>(p, n, gen, (T)a, (T)b);
        else if (kind == RandomKind::normal)
            fill_normal<T>(p, n, gen, (T)a, (T)b);
        else  // bernoulli
            fill_bernoulli<T>(p, n, gen, (T)a);
    });
}

}  // namespace zg::cpu
