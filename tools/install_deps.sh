#!/bin/sh
# install_deps.sh: Debian packages getp builds and tests with (run as root).
#   build:  cmake, ninja, gcc, OpenMPI, PCRE2, jansson and zlib headers
#   tests:  node + npm (tokenizer / harmony oracles), Slurm + munge (the real
#           Slurm test), hipcc + ROCm device libs (the gfx90a compile check),
#           clang + libclang-rt-dev + libomp-dev (libFuzzer for the fuzz/ targets),
#           clang-19 + lld-19 + llvm-19 + clang-tools-19 (the gfx942 compile check: Debian's
#           hipcc predates it; clang-tools-19 has the clang-offload-bundler it links with),
#           bsdutils (script(1) for the progress-bar test)
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
pkgs="cmake ninja-build gcc g++ make libpcre2-dev libjansson-dev zlib1g-dev libopenmpi-dev openmpi-bin
      slurm-wlm munge hipcc libamdhip64-dev rocm-device-libs python3 clang libclang-rt-dev libomp-dev
      clang-19 lld-19 llvm-19 clang-tools-19 bsdutils"
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
echo "install_deps: done"
