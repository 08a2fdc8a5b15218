// Reverse-mode autodiff: recording ops into a graph, and walking it backwards.
#include "engine/autograd.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "engine/ops.h"
#include "engine/trace/op_trace.h"

namespace zg {

static thread_local bool g_grad_enabled = true;
bool grad_enabled() {
    return g_grad_enabled;
}
NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) {
    g_grad_enabled = false;
}
NoGradGuard::~NoGradGuard() {
    g_grad_enabled = prev_;
}
GradModeGuard::GradModeGuard(bool on) : prev_(g_grad_enabled) {
    g_grad_enabled = on;
}
GradModeGuard::~GradModeGuard() {
    g_grad_enabled = prev_;
}

// Each input node this one is the last owner of is moved onto a stack, and each node popped
// hands over its own such inputs before it is destroyed, so every destructor on the way finds
// no chain left to recurse into. The backward function goes first: it may capture the inputs
// too (mul keeps both), which would otherwise keep them from being the edge's alone.
Node::~Node() {
    std::vector<std::shared_ptr<Node>> last_owned;
    auto take_inputs = [&](Node& n) {
        n.backward = nullptr;
        for (Edge& e : n.inputs)
            if (e.node && e.node.use_count() == 1) last_owned.push_back(std::move(e.node));
    };
    take_inputs(*this);
    while (!last_owned.empty()) {
        std::shared_ptr<Node> n = std::move(last_owned.back());
        last_owned.pop_back();
        take_inputs(*n);
    }
}

// The node of op `name` with output `out`, or null when grad mode is off or no input requires
// a gradient.
static std::shared_ptr<Node> make_node(const char* name, const Tensor& out,
                                       const std::vector<Tensor>& inputs, BackwardFn fn,
                                       const std::vector<Tensor>& saved) {
    if (!grad_enabled()) return nullptr;
    bool any = std::any_of(inputs.begin(), inputs.end(),
                           [](const Tensor& t) { return t.defined() && t.requires_grad(); });
    if (!any) return nullptr;
    auto node = std::make_shared<Node>();
    node->name = name;
    for (const Tensor& in : inputs) {
        Edge e;
        if (in.defined() && in.requires_grad()) {
            if (in.is_leaf())
                e.leaf = in.impl_ptr();
            else
                e.node = in.grad_fn();
        }
        node->inputs.push_back(e);
        node->input_shapes.push_back(in.defined() ? in.shape() : Shape{});
    }
    for (const Tensor& s : saved) {
        node->saved_versions.emplace_back(s.storage_ptr(), s.version());
        if (s.same(out)) {
            node->out_storage = out.storage_ptr();
            node->out_shape = out.shape();
            node->out_strides = out.strides();
            node->out_offset = out.offset();
            node->out_dtype = out.dtype();
        }
    }
    node->backward = std::move(fn);
    return node;
}

Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn fn,
              const std::vector<Tensor>& saved) {
    std::shared_ptr<Node> node = make_node(name, out, inputs, std::move(fn), saved);
    if (node) {
        out.impl().requires_grad = true;
        out.impl().grad_fn = node;
    }
    if (OpTrace* trace = active_op_trace()) trace->op_passed(node, out);
    return out;
}

Tensor record(const char* name, Tensor out, std::initializer_list<Tensor> inputs, BackwardFn fn,
              std::initializer_list<Tensor> saved) {
    return record(name, std::move(out), std::vector<Tensor>(inputs), std::move(fn),
                  std::vector<Tensor>(saved));
}

namespace {

// Where gradients end up: accumulated into leaves' .grad (backward) or returned for a list of
// inputs (grad), which may be leaves or intermediate tensors.
struct Targets {
    bool accumulate = false;
    std::unordered_map<const TensorImpl*, size_t> leaves;
    std::unordered_map<const Node*, size_t> nodes;
};

Tensor accumulate(const Tensor& acc, const Tensor& g) {
    return acc.defined() ? add(acc, g) : g;
}

// The reachable nodes in an order where every node comes before the nodes of its inputs.
std::vector<Node*> topological_order(const std::vector<Node*>& roots) {
    std::vector<Node*> order;
    std::unordered_set<Node*> seen;
    // Iterative post-order DFS (deep graphs must not overflow the stack).
    std::vector<std::pair<Node*, size_t>> stack;
    for (Node* r : roots) {
        if (!r || !seen.insert(r).second) continue;
        stack.emplace_back(r, 0);
        while (!stack.empty()) {
            auto& [n, i] = stack.back();
            if (i < n->inputs.size()) {
                Node* child = n->inputs[i++].node.get();
                if (child && seen.insert(child).second) stack.emplace_back(child, 0);
            } else {
                order.push_back(n);
                stack.pop_back();
            }
        }
    }
    std::reverse(order.begin(), order.end());
    return order;
}

// Whether a gradient sent along `e` can reach a target: a wanted leaf, or a useful node.
bool leads_to_target(const Edge& e, const Targets& t,
                     const std::unordered_set<const Node*>& useful) {
    return (e.node && useful.count(e.node.get())) ||
           (e.leaf && (t.accumulate || t.leaves.count(e.leaf.get())));
}

// Nodes whose output gradient is wanted: targets, and nodes whose backward can reach one. The
// others are skipped entirely (a gradient penalty's grad() with respect to the input then
// never computes weight gradients).
std::unordered_set<const Node*> useful_nodes(const std::vector<Node*>& order, const Targets& t) {
    std::unordered_set<const Node*> useful;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {  // inputs before consumers
        Node* n = *it;
        bool u = t.nodes.count(n) > 0;
        for (const Edge& e : n->inputs) u = u || leads_to_target(e, t, useful);
        if (u) useful.insert(n);
    }
    return useful;
}

// A node may run its backward only if its graph was kept and nothing it saved was edited
// in place since.
void check_runnable(const Node& n) {
    ZG_CHECK(!n.released, "backward: trying to backward through the graph of '", n.name,
             "' a second time, after its saved tensors were freed; pass retain_graph=true "
             "to the first backward() or grad() call if you need to do this");
    for (auto& [storage, version] : n.saved_versions)
        ZG_CHECK(storage->version == version, "backward: a tensor saved by '", n.name,
                 "' was modified in place after it was saved (its version is ", storage->version,
                 ", expected ", version,
                 "); clone() it before the in-place edit, or edit it outside the graph");
}

// The node's saved output, rebuilt attached to the node so create_graph differentiates through
// it (tanh' = 1 − y² depends on x through y); undefined when the op saved none.
Tensor saved_output(Node& n) {
    if (!n.out_storage) return Tensor();
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = n.out_storage;
    impl->shape = n.out_shape;
    impl->strides = n.out_strides;
    impl->offset = n.out_offset;
    impl->dtype = n.out_dtype;
    impl->requires_grad = true;
    impl->grad_fn = n.shared_from_this();
    return Tensor(impl);
}

// Drops what the node's backward captured, so the graph's memory goes as soon as it is used.
void release(Node& n) {
    n.backward = nullptr;  // frees the captured tensors
    n.out_storage = nullptr;
    n.saved_versions.clear();  // they hold the saved storages too
    n.released = true;
}

// One reverse sweep: seeds the outputs' gradients, then visits the nodes so that each runs
// once all its consumers have sent their gradient, and routes every input gradient to the
// next node, a leaf's .grad or a result slot.
class BackwardPass {
public:
    BackwardPass(const Targets& targets, size_t n_results, bool retain_graph, bool create_graph)
        : targets_(targets),
          results_(n_results),
          retain_graph_(retain_graph),
          create_graph_(create_graph) {}

    std::vector<Tensor> run(const std::vector<Tensor>& outputs,
                            const std::vector<Tensor>& grad_outputs) {
        GradModeGuard mode(create_graph_);
        BackwardPassTraceScope traced;
        for (size_t i = 0; i < outputs.size(); ++i) seed(i, outputs[i], grad_outputs);
        const std::vector<Node*> order = topological_order(roots_);
        useful_ = useful_nodes(order, targets_);
        for (Node* n : order) {
            auto it = grads_.find(n);
            if (it == grads_.end()) continue;  // nothing flowed here (unused branch)
            Tensor dy = std::move(it->second);
            grads_.erase(it);
            visit(*n, dy);
        }
        return std::move(results_);
    }

private:
    // The gradient of output i: the caller's, or 1 for a scalar.
    void seed(size_t i, const Tensor& out, const std::vector<Tensor>& grad_outputs) {
        ZG_CHECK(out.requires_grad(), "backward: output ", i, " (shape ", shape_str(out.shape()),
                 ") does not require grad and has no grad_fn; did you compute it under "
                 "NoGradGuard or from tensors without requires_grad?");
        Tensor g = i < grad_outputs.size() ? grad_outputs[i] : Tensor();
        if (!g.defined()) {
            ZG_CHECK(out.numel() == 1, "backward: output ", i, " has shape ",
                     shape_str(out.shape()),
                     "; a gradient can be implied only for a scalar, so pass grad_outputs of "
                     "that shape");
            g = ones_like(out);
        }
        ZG_CHECK(g.shape() == out.shape(), "backward: grad_output shape ", shape_str(g.shape()),
                 " does not match output shape ", shape_str(out.shape()));
        if (out.is_leaf()) {
            deliver_to_leaf(out.impl_ptr(), g);
        } else {
            Node* n = out.grad_fn().get();
            grads_[n] = accumulate(grads_[n], g);
            roots_.push_back(n);
        }
    }

    // Node n with its summed output gradient dy: records it if n is a requested intermediate,
    // runs n's backward for the inputs that lead to a target, and passes those gradients on.
    void visit(Node& n, const Tensor& dy) {
        if (auto t = targets_.nodes.find(&n); t != targets_.nodes.end())
            results_[t->second] = accumulate(results_[t->second], dy);
        std::vector<bool> needs(n.inputs.size());
        for (size_t i = 0; i < needs.size(); ++i)
            needs[i] = leads_to_target(n.inputs[i], targets_, useful_);
        // Skip (and keep) nodes none of whose inputs leads to a target: this includes a
        // requested intermediate whose own history grad() does not need.
        if (std::none_of(needs.begin(), needs.end(), [](bool b) { return b; })) return;
        check_runnable(n);
        const Tensor y = saved_output(n);
        OpTrace* trace = active_op_trace();
        const int64_t traced = trace ? trace->backward_started(n, dy.shape(), needs) : -1;
        Grads gs = n.backward(BackwardArgs{dy, y, needs});
        if (trace) trace->backward_finished(traced);
        ZG_CHECK(gs.size() == n.inputs.size(), "internal: backward of '", n.name, "' returned ",
                 gs.size(), " gradients for ", n.inputs.size(), " inputs");
        for (size_t i = 0; i < gs.size(); ++i) {
            if (!needs[i] || !gs[i].defined()) continue;
            ZG_CHECK(gs[i].shape() == n.input_shapes[i], "internal: backward of '", n.name,
                     "' returned a gradient of shape ", shape_str(gs[i].shape()), " for input ", i,
                     " of shape ", shape_str(n.input_shapes[i]));
            const Edge& e = n.inputs[i];
            if (e.node)
                grads_[e.node.get()] = accumulate(grads_[e.node.get()], gs[i]);
            else
                deliver_to_leaf(e.leaf, gs[i]);
        }
        if (!retain_graph_) release(n);
    }

    void deliver_to_leaf(const std::shared_ptr<TensorImpl>& leaf, const Tensor& g) {
        auto it = targets_.leaves.find(leaf.get());
        if (it != targets_.leaves.end()) {
            results_[it->second] = accumulate(results_[it->second], g);
        } else if (targets_.accumulate) {
            Tensor old(leaf->grad);
            // Without create_graph the stored gradient must not hold on to any graph. The
            // first one is copied: g may be shared with another leaf (add hands both inputs
            // the same dy), be the caller's grad_output, or be a broadcast view.
            Tensor sum = old.defined() ? add(old, create_graph_ ? g : g.detach())
                                       : (create_graph_ ? g.clone() : g.detach().clone());
            leaf->grad = sum.impl_ptr();
        }
    }

    const Targets& targets_;
    std::vector<Tensor> results_;
    const bool retain_graph_, create_graph_;
    std::unordered_map<Node*, Tensor> grads_;  // summed output gradients still to be used
    std::vector<Node*> roots_;
    std::unordered_set<const Node*> useful_;
};

}  // namespace

void Tensor::backward(const Tensor& g, bool retain_graph, bool create_graph) const {
    Targets t;
    t.accumulate = true;
    BackwardPass(t, 0, retain_graph || create_graph, create_graph).run({*this}, {g});
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool create_graph,
                         bool retain_graph, bool allow_unused) {
    Targets t;
    for (size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& in = inputs[i];
        ZG_CHECK(in.requires_grad(), "grad: input ", i, " (shape ", shape_str(in.shape()),
                 ") does not require grad, so no gradient can flow to it");
        if (in.is_leaf())
            t.leaves.emplace(in.impl_ptr().get(), i);  // a repeated input keeps its first slot
        else
            t.nodes.emplace(in.grad_fn().get(), i);
    }
    auto res = BackwardPass(t, inputs.size(), retain_graph || create_graph, create_graph)
                   .run(outputs, grad_outputs);
    for (size_t i = 0; i < res.size(); ++i) {
        const Tensor& in = inputs[i];
        const size_t first =
            in.is_leaf() ? t.leaves.at(in.impl_ptr().get()) : t.nodes.at(in.grad_fn().get());
        if (first != i) res[i] = res[first];  // the same tensor listed again
        if (res[i].defined()) continue;
        ZG_CHECK(allow_unused, "grad: input ", i, " (shape ", shape_str(inputs[i].shape()),
                 ") was not used to compute the outputs; pass allow_unused=true if that is "
                 "expected");
    }
    return res;
}

}  // namespace zg
