#pragma once
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace zg {

// ---- grad mode ----
bool grad_enabled();
// Inside a NoGradGuard no op records history (inference, optimizer updates, backward without
// create_graph).
class NoGradGuard {
public:
    NoGradGuard();
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool prev_;
};
// Sets grad mode to `on` for a scope (backward uses it to honour create_graph).
class GradModeGuard {
public:
    explicit GradModeGuard(bool on);
    ~GradModeGuard();
    GradModeGuard(const GradModeGuard&) = delete;
    GradModeGuard& operator=(const GradModeGuard&) = delete;

private:
    bool prev_;
};

// What a backward function is given: the gradient of the loss with respect to the op's output
// (dy), the output itself (y; defined only if the op listed its output among the saved tensors)
// and which inputs need a gradient at all (so expensive ones can be skipped).
struct BackwardArgs {
    const Tensor& dy;
    const Tensor& y;
    const std::vector<bool>& needs;
    bool needs_grad(size_t i) const { return needs[i]; }
};
// One gradient per input, in the order of the inputs; an undefined Tensor means "no gradient".
using Grads = std::vector<Tensor>;
using BackwardFn = std::function<Grads(const BackwardArgs&)>;

// Where the gradient of one input goes: the node that produced it, or the leaf itself.
struct Edge {
    std::shared_ptr<Node> node;
    std::shared_ptr<TensorImpl> leaf;
};

// One recorded op in the graph. The backward function captures what it needs by value; the
// output is not held (that would be a reference cycle): if the op saved it, the node keeps the
// output's storage and rebuilds a tensor on it, attached to this node, when backward runs.
struct Node : std::enable_shared_from_this<Node> {
    std::string name;
    std::vector<Edge> inputs;
    std::vector<Shape> input_shapes;
    BackwardFn backward;
    bool released = false;
    // Saved tensors and their storage versions at record time.
    std::vector<std::pair<std::shared_ptr<Storage>, uint64_t>> saved_versions;
    // The saved output, when the op asked for it.
    std::shared_ptr<Storage> out_storage;
    Shape out_shape, out_strides;
    int64_t out_offset = 0;
    DType out_dtype = DType::f32;

    Node() = default;
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    // Releases the chain of nodes only this one keeps alive with a loop, not by recursion, so
    // a graph hundreds of thousands of ops deep does not overflow the stack when dropped.
    ~Node();
};

// Attaches a backward function to the freshly computed `out` of op `name` when grad mode is on
// and some input requires a gradient; returns `out`. `saved` lists the tensors the backward
// function captured (inputs and possibly `out`): their versions are checked before it runs.
Tensor record(const char* name, Tensor out, std::initializer_list<Tensor> inputs, BackwardFn fn,
              std::initializer_list<Tensor> saved = {});
Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn fn,
              const std::vector<Tensor>& saved);

// Gradients of `outputs` (weighted by `grad_outputs`; omitted for scalars means 1) with respect
// to `inputs`, returned rather than accumulated into .grad. With create_graph the backward pass
// is itself recorded, so the results can be differentiated again (gradient penalties).
// allow_unused=false makes an input that does not influence the outputs an error.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool create_graph = false,
                         bool retain_graph = false, bool allow_unused = false);

}  // namespace zg
