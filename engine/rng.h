#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>

// Counter-based random numbers (Philox 4x32-10; Salmon et al., "Parallel random numbers: as easy
// as 1, 2, 3", SC'11). A counter-based generator has no sequential state to advance: block b of
// the stream is the pure function philox(counter = b, key = seed). So a fill can hand any block
// to any thread and the result is bit-identical for every thread count and schedule; the only
// shared state is "next unused block", which an Rng hands out under a mutex.

namespace zg {

// One Philox4x32-10 block: 4 32-bit outputs from a 128-bit counter and 64-bit key.
std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

// A stream position: numbers are drawn from blocks (counter = offset, offset+1, ...) under
// key = seed.
struct RngState {
    uint64_t seed = 0;
    uint64_t offset = 0;
};

// The project's random-number generator (PyTorch calls its equivalent torch.Generator; in a GAN
// codebase "generator" means G, so here the stream is an Rng and G is always a network).
class Rng {
public:
    explicit Rng(uint64_t seed = 0);
    void manual_seed(uint64_t seed);  // resets offset to 0
    RngState state() const;
    void set_state(RngState s);
    uint64_t seed() const;
    // Reserve `blocks` consecutive Philox blocks; returns the first block index.
    // Thread-safe (mutex).
    uint64_t reserve(uint64_t blocks);

private:
    mutable std::mutex mu_;
    RngState st_;
};
Rng& default_rng();  // global, seeded with 0 at start-up; users call manual_seed

// Raw fills: element i comes from block (first_block + i / L) lane (i % L), so results do not
// depend on the thread count. Each function reserves ceil(n / L) blocks from `gen` itself and
// drops the unused lanes of the last block. Hence two consecutive fills of n equal one fill of 2n
// exactly when n is a multiple of L. Lanes per block L:
//   uniform, bernoulli: 4 for float (one 32-bit word each), 2 for double (two words each);
//   normal:             4 for float, 2 for double (one Box-Muller pair per two uniforms);
//   randint:            4;   randperm: one block per swap.
// Re-seeding a generator while another thread fills from it is not supported.
template <class T>
void fill_uniform(T* out, size_t n, Rng& gen, T lo, T hi);  // [lo, hi), needs lo < hi
template <class T>
void fill_normal(T* out, size_t n, Rng& gen, T mean, T std);  // Box-Muller
template <class T>
void fill_bernoulli(T* out, size_t n, Rng& gen, T p);  // 1 with prob p else 0
// Uniform on [low, high); throws zg::Error if high <= low.
void fill_randint(int32_t* out, size_t n, Rng& gen, int32_t low, int32_t high);
void fill_randperm(int32_t* out, size_t n, Rng& gen);  // Fisher-Yates, deterministic

}  // namespace zg
