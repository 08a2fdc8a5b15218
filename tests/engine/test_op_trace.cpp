// Op tracing (engine/trace/op_trace.h): what a trace lists for a small hand-built graph, that
// its forward and backward events match the graph, and that nothing is traced without one.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "engine/trace/op_trace.h"

using namespace zg;

namespace {

using Phase = OpEvent::Phase;

std::vector<const OpEvent*> events_of(const OpTrace& t, Phase phase) {
    std::vector<const OpEvent*> out;
    for (const OpEvent& e : t.events())
        if (e.phase == phase) out.push_back(&e);
    return out;
}

std::vector<std::string> names(const OpTrace& t, const std::vector<const OpEvent*>& events) {
    std::vector<std::string> out;
    for (const OpEvent* e : events) out.push_back(t.nodes()[e->node].name);
    return out;
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("a trace lists the forward ops of a small graph in order, with shapes and edges") {
    Rng gen(1);
    Tensor w = randn({3, 2}, &gen).requires_grad_();
    Tensor x = randn({5, 2}, &gen);
    OpTrace trace;
    Tensor y = sum(tanh(matmul(x, w.t())));

    const auto fwd = events_of(trace, Phase::forward);
    CHECK(names(trace, fwd) == std::vector<std::string>{"permute", "matmul", "tanh", "sum"});
    // Every recorded node is one forward event, and each event names its node.
    REQUIRE(trace.nodes().size() == fwd.size());
    for (size_t i = 0; i < fwd.size(); ++i) {
        CHECK(trace.nodes()[fwd[i]->node].event == (int64_t)i);
        CHECK(fwd[i]->ms >= 0);
        CHECK(fwd[i]->parent == -1);
    }
    const TracedNode& mm = trace.nodes()[fwd[1]->node];
    CHECK(trace.nodes()[fwd[0]->node].out_shape == Shape{2, 3});
    CHECK(mm.out_shape == Shape{5, 3});
    CHECK(trace.nodes()[fwd[3]->node].out_shape == Shape{});
    CHECK(mm.input_shapes == std::vector<Shape>{{5, 2}, {2, 3}});
    // x needs no gradient, so it has no edge; w.t() comes from the permute node, w is a leaf.
    CHECK(mm.inputs[0].node == -1);
    CHECK(mm.inputs[0].leaf == -1);
    CHECK(mm.inputs[1].node == fwd[0]->node);
    REQUIRE(trace.leaves().size() == 1);
    CHECK(trace.leaves()[0].impl == w.impl_ptr().get());
    CHECK(trace.nodes()[fwd[0]->node].inputs[0].leaf == 0);
    CHECK(trace.flops(*fwd[1]) == doctest::Approx(2.0 * 5 * 3 * 2));
    CHECK_FALSE(trace.flops(*fwd[2]).has_value());  // tanh: no known count

    std::ostringstream dot;
    trace.write_dot(dot, {{w.impl_ptr().get(), "w"}});
    CHECK(dot.str().rfind("digraph autograd {", 0) == 0);
    CHECK(count(dot.str(), "shape=box") == 4);
    CHECK(count(dot.str(), "shape=ellipse") == 1);
    CHECK(count(dot.str(), "->") == 4);  // w→permute→matmul→tanh→sum
    CHECK(dot.str().find("label=\"w\\n[3, 2]\"") != std::string::npos);
    CHECK(dot.str().find("#1 matmul\\n[5, 3]") != std::string::npos);
    (void)y;
}

TEST_CASE("a trace's backward events are the nodes whose backward ran, timed, in reverse order") {
    Rng gen(2);
    Tensor w = randn({3, 2}, &gen).requires_grad_();
    Tensor x = randn({5, 2}, &gen);
    OpTrace trace;
    sum(tanh(matmul(x, w.t()))).backward();

    const auto bwd = events_of(trace, Phase::backward);
    CHECK(names(trace, bwd) == std::vector<std::string>{"sum", "tanh", "matmul", "permute"});
    for (const OpEvent* e : bwd) {
        CHECK(trace.nodes()[e->node].backward_ran);
        CHECK(e->ms >= 0);
    }
    // matmul's backward computed only the gradient of w.t(): one product.
    CHECK(bwd[2]->needs == std::vector<bool>{false, true});
    CHECK(trace.flops(*bwd[2]) == doctest::Approx(2.0 * 5 * 3 * 2));

    // A branch that leads to no requested input is skipped: exp's backward never runs.
    Tensor a = randn({4}, &gen).requires_grad_(), c = randn({4}, &gen).requires_grad_();
    OpTrace pruned;
    grad({sum(a * exp(c))}, {a});
    size_t ran = 0;
    for (const TracedNode& n : pruned.nodes()) ran += n.backward_ran;
    CHECK(events_of(pruned, Phase::forward).size() == pruned.nodes().size());
    CHECK(names(pruned, events_of(pruned, Phase::backward)) ==
          std::vector<std::string>{"sum", "mul"});
    CHECK(ran == 2);
}

TEST_CASE("a trace nests the ops a create_graph backward records under the backward running") {
    Rng gen(3);
    Tensor x = randn({4}, &gen).requires_grad_();
    OpTrace trace;
    Tensor y = sum(tanh(x));
    const size_t forward_ops = trace.events().size();
    Tensor g = grad({y}, {x}, {}, /*create_graph=*/true)[0];
    int64_t tanh_backward = -1;
    size_t nested = 0;
    for (size_t i = forward_ops; i < trace.events().size(); ++i) {
        const OpEvent& e = trace.events()[i];
        if (e.phase == Phase::backward && trace.nodes()[e.node].name == "tanh")
            tanh_backward = (int64_t)i;
        if (e.phase == Phase::forward) {
            CHECK(e.parent >= (int64_t)forward_ops);  // each one belongs to a backward event
            nested += e.parent == tanh_backward;
        }
    }
    CHECK(tanh_backward >= 0);
    CHECK(nested > 0);  // tanh' = 1 − y² is itself recorded
    (void)g;
}

TEST_CASE("without an active trace nothing is traced") {
    Rng gen(4);
    CHECK(active_op_trace() == nullptr);
    Tensor w = randn({3}, &gen).requires_grad_();
    {
        OpTrace trace;
        CHECK(active_op_trace() == &trace);
    }
    CHECK(active_op_trace() == nullptr);
    Tensor y = sum(w * w);  // recorded by autograd, but traced by no one

    OpTrace later;
    CHECK(later.events().empty());
    CHECK(later.nodes().empty());
    // A backward through that older graph lists its nodes as recorded before the trace.
    y.backward();
    CHECK(events_of(later, Phase::forward).empty());
    CHECK(names(later, events_of(later, Phase::backward)) ==
          std::vector<std::string>{"sum", "mul"});
    for (const TracedNode& n : later.nodes()) CHECK(n.event == -1);
}
