#pragma once
// Op tracing, for people who study the engine (`zoograd trace`, docs/TRACE.md). While an
// OpTrace is alive, every op autograd records on its thread (a Node attached to the op's
// output) and every node whose backward function runs becomes an event, in the order they
// happen, with shapes and wall times; the graph's Edge links are kept too, so the step can be
// drawn (write_dot).
//
// What the times measure. A forward op reaches record() only after its kernel ran, so the
// trace cannot start a clock before it: a forward event's time is the wall time since the
// previous traced point on this thread, which is the previous op that passed through
// record() (recorded or not: ops under NoGradGuard or on tensors that need no gradient move
// the clock too, so an optimizer update is not charged to the next op), the end of a
// backward function or of a backward pass, or the start of the trace. It thus includes work
// between ops that never passes through record() (random draws, in-place writes, the
// caller's own code). A backward event's time is exact: the wall time of the node's backward
// function. When a backward pass records a graph (create_graph), the ops its backward
// functions record are forward events of their own whose `parent` is that backward event;
// their time is part of the parent's as well.
//
// Cost when no trace is active: record() and the backward pass load one thread-local pointer
// and branch. Only the thread that made the OpTrace is traced (ops are recorded on the
// caller's thread; OpenMP workers never call record()).
#include <chrono>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/tensor.h"

namespace zg {

struct OpEvent {
    enum class Phase { forward, backward };
    Phase phase;
    int64_t node;   // index into OpTrace::nodes(): the node recorded, or whose backward ran
    double ms = 0;  // see the header comment for what it measures in each phase
    std::vector<bool> needs;  // backward: the inputs a gradient was computed for
    int64_t parent = -1;      // recorded by a backward function (create_graph): that event
};

// Where one input of a traced node came from: the traced node that produced it, or a leaf
// (a tensor requiring grad that no op made: a parameter, or an input such as a gradient
// penalty's interpolate). Both -1 for an input that needs no gradient (real data, labels).
struct TracedEdge {
    int64_t node = -1;
    int64_t leaf = -1;
};

struct TracedNode {
    std::string name;
    Shape out_shape;
    std::vector<Shape> input_shapes;
    std::vector<TracedEdge> inputs;
    // Its forward event; -1 for a node recorded before the trace began (reached through an
    // edge or by a backward pass, its own history unknown).
    int64_t event = -1;
    bool backward_ran = false;
};

struct TracedLeaf {
    const TensorImpl* impl;  // identity only (to name parameters), never dereferenced
    Shape shape;
};

class OpTrace {
public:
    // Starts tracing this thread; an inner OpTrace hides an outer one while it lives.
    OpTrace();
    ~OpTrace();
    OpTrace(const OpTrace&) = delete;
    OpTrace& operator=(const OpTrace&) = delete;

    const std::vector<OpEvent>& events() const { return events_; }
    const std::vector<TracedNode>& nodes() const { return nodes_; }
    const std::vector<TracedLeaf>& leaves() const { return leaves_; }

    // The floating-point operations of an event where its op kind has a known count, nullopt
    // otherwise: matmul 2·m·n·k (forward; backward once per input given a gradient, unless the
    // input was broadcast over batch dims, whose sum is not counted), add/sub/mul/div one per
    // output element, affine two, the relu/leaky_relu backward kernel select_pos_mul one; the
    // backward of mul and affine one per element per input given a gradient (when not
    // broadcast). Convolutions are im2col (a copy) + matmul + col2im (a scatter-add), so their
    // arithmetic is in the matmul events.
    std::optional<double> flops(const OpEvent& e) const;

    // The traced graph in Graphviz DOT: op nodes ("op<i>", labelled with their forward event
    // number, name and output shape; filled when their backward ran, dashed when recorded
    // before the trace), leaves ("leaf<j>", named by `leaf_names` when given, else by shape),
    // and one edge per Edge link, from the input to the op that consumed it.
    void write_dot(std::ostream& os,
                   const std::unordered_map<const TensorImpl*, std::string>& leaf_names = {}) const;

    // ---- called by engine/autograd.cpp ----
    // An op passed through record(): `node` is what it recorded, or null when nothing needed
    // its gradient (then only the clock moves).
    void op_passed(const std::shared_ptr<Node>& node, const Tensor& out);
    // Around one node's backward function; returns the event to hand to backward_finished.
    int64_t backward_started(Node& n, const Shape& dy_shape, const std::vector<bool>& needs);
    void backward_finished(int64_t event);
    void backward_pass_started();
    void backward_pass_finished();

private:
    using Clock = std::chrono::steady_clock;
    int64_t node_index(const std::shared_ptr<Node>& n, const Shape& out_shape);
    int64_t leaf_index(const std::shared_ptr<TensorImpl>& leaf);

    OpTrace* outer_;
    std::vector<OpEvent> events_;
    std::vector<TracedNode> nodes_;
    std::vector<TracedLeaf> leaves_;
    std::unordered_map<const void*, int64_t> node_of_, leaf_of_;
    // Weak references keep the Node and TensorImpl blocks (made by make_shared) allocated, so
    // an address in node_of_/leaf_of_ cannot be reused by a new object during the trace.
    std::vector<std::weak_ptr<const void>> pins_;
    Clock::time_point mark_;
    // Backward functions running (they could nest), with their start times.
    std::vector<std::pair<int64_t, Clock::time_point>> running_;
    int backward_passes_ = 0;     // open backward passes
    int64_t last_backward_ = -1;  // the pass's latest backward event (it records the pass's sums)
};

namespace detail {
inline thread_local OpTrace* active_op_trace = nullptr;
}
// The trace recording this thread's ops, or null.
inline OpTrace* active_op_trace() {
    return detail::active_op_trace;
}

// Tells the active trace (if any) that a backward pass runs for this scope, so the ops a
// create_graph pass records are attributed to the backward function that recorded them.
class BackwardPassTraceScope {
public:
    BackwardPassTraceScope() : trace_(active_op_trace()) {
        if (trace_) trace_->backward_pass_started();
    }
    ~BackwardPassTraceScope() {
        if (trace_) trace_->backward_pass_finished();
    }
    BackwardPassTraceScope(const BackwardPassTraceScope&) = delete;
    BackwardPassTraceScope& operator=(const BackwardPassTraceScope&) = delete;

private:
    OpTrace* trace_;
};

}  // namespace zg
