#include <doctest/doctest.h>

#include "gradcheck.h"

using namespace zg;
using namespace zg::testing;

TEST_CASE("smoke: mul, tanh, sum gradients and second derivatives") {
    check_op("mul", [](const std::vector<Tensor>& x) { return x[0] * x[1]; },
             {test_input({3, 4}, 1), test_input({4}, 2)});
    check_op("tanh", [](const std::vector<Tensor>& x) { return tanh(x[0]); },
             {test_input({2, 3}, 3)});
    check_op("matmul", [](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); },
             {test_input({3, 4}, 4), test_input({4, 5}, 5)});
}
