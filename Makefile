# Thin wrapper around CMake/CTest; the real build is CMakeLists.txt.
JOBS   ?= $(shell nproc)
PREFIX ?= /usr/local

BUILD      := build
BUILD_ASAN := build-asan
BUILD_FUZZ := build-fuzz
BUILD_VALGRIND := build-valgrind
SRC_DIRS   := engine nn zoo tools tests

# Prerequisites are steps in order (deps before build before run), never parallel;
# CMake and CTest parallelise internally with -j$(JOBS).
.NOTPARALLEL:
# Keep this make's flags/level away from the CMake-generated makefiles (no jobserver
# warnings, no "Entering directory" noise); parallelism is JOBS.
CMAKE := env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL cmake
.DEFAULT_GOAL := all
.PHONY: all deps deps-mnist deps-data deps-torch deps-test data data-mnist test test-slow test-asan \
        test-fuzz test-valgrind \
        demo bench install \
        format clean help

all:
	@test -f $(BUILD)/CMakeCache.txt || $(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	$(CMAKE) --build $(BUILD) -j$(JOBS)

deps:
	@bash tools/deps.sh

deps-mnist:
	@bash tools/deps.sh --mnist

deps-data:
	@bash tools/deps.sh --data

deps-torch:
	@bash tools/deps.sh --torch

# What only the tests need (graphviz for the `zoograd trace` test, Chromium for the report's
# browser test); demo does not pull it in.
deps-test:
	@bash tools/deps.sh --test

data: deps-data
	@bash tools/data.sh

# MNIST alone: what the demo trains on.
data-mnist: deps-mnist
	@bash tools/data.sh mnist

# Nothing may print after CTest's summary, so ctest is the last command.
test: deps deps-test all
	cd $(BUILD) && ctest -LE slow --output-on-failure --no-label-summary -j$(JOBS)

test-slow: deps deps-test all
	cd $(BUILD) && ctest -L slow --output-on-failure --no-label-summary

test-asan: deps
	@test -f $(BUILD_ASAN)/CMakeCache.txt || $(CMAKE) -S . -B $(BUILD_ASAN) \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZG_SANITIZE=ON -DZG_NATIVE=OFF
	$(CMAKE) --build $(BUILD_ASAN) -j$(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest -LE slow --output-on-failure --no-label-summary -j$(JOBS)

# The libFuzzer targets of tests/fuzz/ (clang, ASan + UBSan), each for ZG_FUZZ_SECONDS (30).
FUZZ_TARGETS := fuzz_safetensors fuzz_idx fuzz_image fuzz_npy fuzz_run_config fuzz_metrics fuzz_grid
test-fuzz:
	@bash tools/deps.sh --fuzz
	@test -f $(BUILD_FUZZ)/CMakeCache.txt || env CC=clang CXX=clang++ $(CMAKE) -S . -B $(BUILD_FUZZ) \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZG_FUZZ=ON -DZG_NATIVE=OFF -DZG_BUILD_TESTS=OFF
	$(CMAKE) --build $(BUILD_FUZZ) -j$(JOBS) --target $(FUZZ_TARGETS)
	cd $(BUILD_FUZZ) && ctest -R '^fuzz_' --output-on-failure --no-label-summary

# The parsers' tests under valgrind, in a portable build (valgrind stops on AVX-512).
test-valgrind:
	@bash tools/deps.sh --valgrind
	@test -f $(BUILD_VALGRIND)/CMakeCache.txt || $(CMAKE) -S . -B $(BUILD_VALGRIND) \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZG_NATIVE=OFF
	$(CMAKE) --build $(BUILD_VALGRIND) -j$(JOBS) --target test_engine test_nn test_zoo
	cd $(BUILD_VALGRIND) && ctest -L valgrind --output-on-failure --no-label-summary

# DCGAN on MNIST for one epoch; prints where the sample grid and report.html are.
# It keeps an EMA of G, so `zoograd sample --ema` works on its run.
demo: deps data-mnist all
	./$(BUILD)/zoograd train dcgan --data mnist --epochs 1 --ema 0.999

# zoograd beside PyTorch (when python3-torch is installed) and the sgemm peak, measured in one
# run on BENCH_THREADS threads; prints one table of ratios (docs/BENCHMARKS.md).
BENCH_THREADS ?= $(JOBS)
bench: all
	@bash tools/bench/run.sh $(BUILD) $(BENCH_THREADS)

install: all
	$(CMAKE) --install $(BUILD) --prefix $(PREFIX)

format:
	@command -v clang-format >/dev/null || { echo "clang-format not found (apt-get install clang-format)" >&2; exit 1; }
	find $(SRC_DIRS) \( -name '*.h' -o -name '*.cpp' \) -print0 2>/dev/null | xargs -0 -r clang-format -i

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) $(BUILD_VALGRIND)

help:
	@echo "make [target] [JOBS=n] [PREFIX=dir]"
	@echo "  all        configure (first time) and build build/ (Release) -- the default"
	@echo "  deps       install missing Debian packages (tools/deps.sh)"
	@echo "  deps-test  install the packages only the tests need (graphviz, chromium; make test runs it)"
	@echo "  data       install data packages and fetch MNIST and Fashion-MNIST (tools/data.sh)"
	@echo "  data-mnist fetch MNIST only (what the demo needs)"
	@echo "  test       build and run the fast tests (ctest -LE slow)"
	@echo "  test-slow  build and run the slow tests (ctest -L slow)"
	@echo "  test-asan  build build-asan/ with ASan+UBSan and run the fast tests"
	@echo "  test-fuzz  build build-fuzz/ with clang and run each libFuzzer target briefly"
	@echo "  test-valgrind  build build-valgrind/ (portable) and run the parsers' tests under valgrind"
	@echo "  demo       install, fetch MNIST, build, train DCGAN for one epoch"
	@echo "  bench      zoograd vs PyTorch and the sgemm peak: DCGAN and ProGAN steps, ops (BENCH_THREADS=n)"
	@echo "  install    build and install to PREFIX (default /usr/local)"
	@echo "  format     clang-format -i all .h/.cpp under $(SRC_DIRS)"
	@echo "  clean      remove build/, build-asan/, build-fuzz/ and build-valgrind/"
	@echo "  help       this list"
