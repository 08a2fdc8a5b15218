// Op tracing: the events and the graph of what autograd recorded while an OpTrace was alive.
#include "engine/trace/op_trace.h"

#include <ostream>

#include "engine/autograd.h"

namespace zg {

OpTrace::OpTrace() : outer_(detail::active_op_trace), mark_(Clock::now()) {
    detail::active_op_trace = this;
}

OpTrace::~OpTrace() {
    detail::active_op_trace = outer_;
}

int64_t OpTrace::node_index(const std::shared_ptr<Node>& n, const Shape& out_shape) {
    auto [it, added] = node_of_.emplace(n.get(), (int64_t)nodes_.size());
    if (added) {
        nodes_.push_back({n->name, out_shape, {}, {}, -1, false});
        pins_.push_back(n);
    }
    return it->second;
}

int64_t OpTrace::leaf_index(const std::shared_ptr<TensorImpl>& leaf) {
    auto [it, added] = leaf_of_.emplace(leaf.get(), (int64_t)leaves_.size());
    if (added) {
        leaves_.push_back({leaf.get(), leaf->shape});
        pins_.push_back(leaf);
    }
    return it->second;
}

void OpTrace::op_passed(const std::shared_ptr<Node>& node, const Tensor& out) {
    const Clock::time_point now = Clock::now();
    if (node) {
        // Inputs first, so a node made before the trace gets an index of its own.
        std::vector<TracedEdge> inputs(node->inputs.size());
        for (size_t i = 0; i < inputs.size(); ++i) {
            const Edge& e = node->inputs[i];
            if (e.node) inputs[i].node = node_index(e.node, node->input_shapes[i]);
            if (e.leaf) inputs[i].leaf = leaf_index(e.leaf);
        }
        const int64_t index = node_index(node, out.shape());
        TracedNode& t = nodes_[index];
        t.input_shapes = node->input_shapes;
        t.inputs = std::move(inputs);
        t.event = (int64_t)events_.size();
        int64_t parent = -1;
        if (backward_passes_ > 0)
            parent = running_.empty() ? last_backward_ : running_.back().first;
        events_.push_back({OpEvent::Phase::forward,
                           index,
                           std::chrono::duration<double, std::milli>(now - mark_).count(),
                           {},
                           parent});
    }
    mark_ = now;
}

int64_t OpTrace::backward_started(Node& n, const Shape& dy_shape, const std::vector<bool>& needs) {
    const int64_t event = (int64_t)events_.size();
    events_.push_back({OpEvent::Phase::backward, node_index(n.shared_from_this(), dy_shape), 0,
                       needs, running_.empty() ? -1 : running_.back().first});
    last_backward_ = event;
    mark_ = Clock::now();
    running_.emplace_back(event, mark_);
    return event;
}

void OpTrace::backward_finished(int64_t event) {
    mark_ = Clock::now();
    // An exception may have left inner backward functions unfinished; they end here too.
    while (!running_.empty()) {
        const auto [e, start] = running_.back();
        running_.pop_back();
        events_[e].ms = std::chrono::duration<double, std::milli>(mark_ - start).count();
        if (e == event) break;
    }
    nodes_[events_[event].node].backward_ran = true;
}

void OpTrace::backward_pass_started() {
    ++backward_passes_;
}

void OpTrace::backward_pass_finished() {
    if (--backward_passes_ == 0) last_backward_ = -1;
    mark_ = Clock::now();
}

std::optional<double> OpTrace::flops(const OpEvent& e) const {
    const TracedNode& n = nodes_[e.node];
    const double elems = (double)shape_numel(n.out_shape);
    const bool forward = e.phase == OpEvent::Phase::forward;
    // Whether input i has the output's shape, or (matmul) the output's batch dims.
    auto same_batch = [&](size_t i, size_t trailing) {
        const Shape& s = n.input_shapes[i];
        return s.size() == n.out_shape.size() &&
               std::equal(s.begin(), s.end() - trailing, n.out_shape.begin());
    };
    // Backward: `per_input` for every input given a gradient, if none of them was broadcast.
    auto per_needed_input = [&](double per_input, size_t trailing) -> std::optional<double> {
        double total = 0;
        for (size_t i = 0; i < e.needs.size(); ++i) {
            if (!e.needs[i]) continue;
            if (!same_batch(i, trailing)) return std::nullopt;
            total += per_input;
        }
        return total;
    };
    if (n.name == "matmul") {
        const double product = 2.0 * elems * (double)n.input_shapes[0].back();  // 2·(m·n)·k
        return forward ? std::optional(product) : per_needed_input(product, 2);
    }
    if (n.name == "add" || n.name == "sub" || n.name == "div")
        return forward ? std::optional(elems) : std::nullopt;
    if (n.name == "mul" || n.name == "select_pos_mul")
        return forward ? std::optional(elems) : per_needed_input(elems, 0);
    if (n.name == "affine") return forward ? std::optional(2 * elems) : per_needed_input(elems, 0);
    return std::nullopt;
}

namespace {

std::string dot_escaped(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

}  // namespace

void OpTrace::write_dot(
    std::ostream& os, const std::unordered_map<const TensorImpl*, std::string>& leaf_names) const {
    os << "digraph autograd {\n"
       << "  rankdir=TB;\n"
       << "  node [fontname=\"monospace\", fontsize=10];\n";
    for (size_t j = 0; j < leaves_.size(); ++j) {
        const TracedLeaf& l = leaves_[j];
        auto name = leaf_names.find(l.impl);
        os << "  leaf" << j << " [shape=ellipse, label=\""
           << dot_escaped(name != leaf_names.end() ? name->second : "leaf") << "\\n"
           << shape_str(l.shape) << "\"];\n";
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
        const TracedNode& n = nodes_[i];
        const char* style = n.backward_ran ? (n.event < 0 ? "filled,dashed" : "filled")
                                           : (n.event < 0 ? "dashed" : "solid");
        os << "  op" << i << " [shape=box, style=\"" << style
           << "\", fillcolor=lightblue, label=\"";
        if (n.event >= 0)
            os << '#' << n.event;
        else
            os << "(before trace)";
        os << ' ' << dot_escaped(n.name) << "\\n" << shape_str(n.out_shape) << "\"];\n";
    }
    for (size_t i = 0; i < nodes_.size(); ++i)
        for (const TracedEdge& e : nodes_[i].inputs) {
            if (e.node >= 0) os << "  op" << e.node << " -> op" << i << ";\n";
            if (e.leaf >= 0) os << "  leaf" << e.leaf << " -> op" << i << ";\n";
        }
    os << "}\n";
}

}  // namespace zg
