#!/usr/bin/env bash
# test.sh: build getp and run every test that needs no GPU (what CI runs).
#
#   tools/test.sh            CPU build + all ctest tests, tools/demo.sh, ASan build of the
#                            file-reader tests, a short libFuzzer run of each
#                            parser (fuzz/), gfx90a and CUDA compile checks
#                            (each when its compiler is installed)
#
# Env: GETP_TEST_SLURM=1 also starts a single-node Slurm cluster and runs the
# jobs/ scripts through sbatch/srun (CI sets it). JOBS=N parallel build jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=${JOBS:-$(nproc)}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

# Node oracles (gpt-tokenizer, @huggingface/jinja) for the tokenizer and chat tests.
if command -v npm >/dev/null 2>&1 &&
   { [ ! -d tools/node_modules/gpt-tokenizer ] || [ ! -d tools/node_modules/@huggingface/jinja ]; }; then
  npm ci --prefix tools --no-audit --no-fund --loglevel=error || npm install --prefix tools --no-audit --no-fund --loglevel=error
fi

status=0
step() { echo; echo "=== $*"; }

step "CPU build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGETP_GPU=none >/dev/null
ninja -C build -j "$jobs"
step "ctest (CPU backend)"
ctest --test-dir build --output-on-failure -j "$jobs" || status=1
step "the README's first command: tools/demo.sh (reuses the CPU build)"
bash tools/demo.sh > build/demo.log 2>&1 || { tail -20 build/demo.log; echo "tools/demo.sh failed"; status=1; }

step "AddressSanitizer build: model files and input parsing"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DGETP_ASAN=ON -DGETP_GPU=none >/dev/null
ninja -C build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=0 ctest --test-dir build-asan --output-on-failure -L asan -j "$jobs" || status=1

# libFuzzer (fuzz/, cmake/fuzz.cmake): needs clang whose -fsanitize=fuzzer links
# (Debian: clang + libclang-rt-dev). FUZZ_SECONDS per target (default 10).
fuzz_cc=$(command -v clang || true)
if [ -n "$fuzz_cc" ] && echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; return (int)n * 0; }' |
     "$fuzz_cc" -x c -fsanitize=fuzzer,address,undefined -o /tmp/getp-fuzz-probe.$$ - >/dev/null 2>&1; then
  rm -f /tmp/getp-fuzz-probe.$$
  step "libFuzzer targets (${FUZZ_SECONDS:-10} s each, seeded from fuzz/corpus)"
  tok=$root/build/tokenizer/o200k_harmony.tiktoken
  [ -f "$tok" ] || tok=""
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DGETP_GPU=none -DGETP_BUILD_TESTS=OFF -DGETP_FUZZ=ON \
        -DCMAKE_C_COMPILER="$fuzz_cc" -DCMAKE_CXX_COMPILER="$(command -v clang++ || echo clang++)" \
        -DGETP_FUZZ_SECONDS="${FUZZ_SECONDS:-10}" -DGETP_FUZZ_TOKENIZER="$tok" >/dev/null
  ninja -C build-fuzz -j "$jobs" fuzz_all
  ctest --test-dir build-fuzz --output-on-failure -L fuzz || status=1
else
  rm -f /tmp/getp-fuzz-probe.$$
  step "libFuzzer targets: SKIPPED (no clang with -fsanitize=fuzzer; install clang and libclang-rt-dev)"
fi

if command -v hipcc >/dev/null 2>&1; then
  step "AMD build (compile + link + resource check)"
  cmake -S . -B build-hip -G Ninja -DGETP_GPU=hip >/dev/null
  ninja -C build-hip -j "$jobs"
  ctest --test-dir build-hip --output-on-failure -R gpu_resources || status=1
fi
nvcc_bin=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
if [ -x "$nvcc_bin" ]; then
  step "NVIDIA sm_90a build (compile + link; GETP_CUDA_ARCH defaults to 90a)"
  cmake -S . -B build-cuda -G Ninja -DGETP_GPU=cuda -DCMAKE_CUDA_COMPILER="$nvcc_bin" >/dev/null
  ninja -C build-cuda -j "$jobs"
  step "NVIDIA portable build (the AMD code structure: -DGETP_PORTABLE=ON)"
  cmake -S . -B build-cuda-portable -G Ninja -DGETP_GPU=cuda -DGETP_PORTABLE=ON \
    -DCMAKE_CUDA_COMPILER="$nvcc_bin" >/dev/null
  ninja -C build-cuda-portable -j "$jobs"
fi

echo
if [ $status -eq 0 ]; then echo "test.sh: all suites passed"; else echo "test.sh: FAILURES above"; fi
exit $status
