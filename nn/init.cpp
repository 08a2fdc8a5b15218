#include "nn/init.h"

#include <cmath>
#include <vector>

namespace zg::nn::init {

std::pair<int64_t, int64_t> fans(const Tensor& w) {
    ZG_CHECK(w.dim() >= 2, "init: fan in/out need a tensor of 2 or more dims, got ",
             shape_str(w.shape()));
    int64_t receptive = 1;
    for (int64_t d = 2; d < w.dim(); ++d) receptive *= w.size(d);
    return {w.size(1) * receptive, w.size(0) * receptive};
}

double gain(const std::string& nonlinearity, double slope) {
    if (nonlinearity == "linear" || nonlinearity == "sigmoid" || nonlinearity == "conv") return 1.0;
    if (nonlinearity == "tanh") return 5.0 / 3.0;
    if (nonlinearity == "relu") return std::sqrt(2.0);
    if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1.0 + slope * slope));
    throw Error("init::gain: unknown nonlinearity '" + nonlinearity +
                "' (linear, conv, sigmoid, tanh, relu, leaky_relu)");
}

// Writes `values` into t without recording history.
static Tensor& assign(Tensor& t, const Tensor& values) {
    NoGradGuard ng;
    t.copy_(values);
    return t;
}

Tensor& zeros_(Tensor& t) {
    return constant_(t, 0.0);
}
Tensor& ones_(Tensor& t) {
    return constant_(t, 1.0);
}
Tensor& constant_(Tensor& t, double value) {
    return assign(t, full({}, value, t.dtype()));
}
Tensor& uniform_(Tensor& t, double lo, double hi, Rng* gen) {
    return assign(t, uniform(t.shape(), lo, hi, gen, t.dtype()));
}
Tensor& normal_(Tensor& t, double mean, double std, Rng* gen) {
    return assign(t, normal(t.shape(), mean, std, gen, t.dtype()));
}
Tensor& dcgan_normal_(Tensor& t, Rng* gen) {
    return normal_(t, 0.0, 0.02, gen);
}

Tensor& xavier_uniform_(Tensor& t, double g, Rng* gen) {
    auto [in, out] = fans(t);
    const double a = g * std::sqrt(6.0 / double(in + out));
    return uniform_(t, -a, a, gen);
}
Tensor& xavier_normal_(Tensor& t, double g, Rng* gen) {
    auto [in, out] = fans(t);
    return normal_(t, 0.0, g * std::sqrt(2.0 / double(in + out)), gen);
}
Tensor& kaiming_uniform_(Tensor& t, double slope, const std::string& nl, Rng* gen) {
    const double bound = gain(nl, slope) * std::sqrt(3.0 / double(fans(t).first));
    return uniform_(t, -bound, bound, gen);
}
Tensor& kaiming_normal_(Tensor& t, double slope, const std::string& nl, Rng* gen) {
    return normal_(t, 0.0, gain(nl, slope) / std::sqrt(double(fans(t).first)), gen);
}

Tensor& orthogonal_(Tensor& t, double g, Rng* gen) {
    ZG_CHECK(t.dim() >= 2, "orthogonal_: need 2 or more dims, got ", shape_str(t.shape()));
    const int64_t rows = t.size(0), cols = t.numel() / rows;
    // Gram-Schmidt on the rows (or columns, whichever are fewer) of a Gaussian matrix, in
    // double; the sign convention of QR (positive diagonal of R) falls out of it.
    const bool by_rows = rows <= cols;
    const int64_t k = by_rows ? rows : cols, n = by_rows ? cols : rows;
    std::vector<double> a = normal({k, n}, 0.0, 1.0, gen, DType::f64).to_vector<double>();
    for (int64_t i = 0; i < k; ++i) {
        double* vi = &a[i * n];
        for (int64_t j = 0; j < i; ++j) {
            const double* vj = &a[j * n];
            double dot = 0;
            for (int64_t e = 0; e < n; ++e) dot += vi[e] * vj[e];
            for (int64_t e = 0; e < n; ++e) vi[e] -= dot * vj[e];
        }
        double norm = 0;
        for (int64_t e = 0; e < n; ++e) norm += vi[e] * vi[e];
        norm = std::sqrt(norm);
        for (int64_t e = 0; e < n; ++e) vi[e] /= norm;
    }
    Tensor q = from_vector(a, {k, n});
    if (!by_rows) q = q.t();
    return assign(t, (q * g).reshape(t.shape()).to(t.dtype()));
}

}  // namespace zg::nn::init
