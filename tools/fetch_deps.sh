#!/bin/sh
# fetch_deps.sh: offline build recipe for a node without internet.
#
# getp needs the headers of three Debian libraries, PCRE2 (libpcre2-dev),
# jansson (libjansson-dev) and zlib (zlib1g-dev). A cluster node often has
# their runtimes but no headers and no network. On any Debian/Ubuntu machine
# WITH network, run
#
#     tools/fetch_deps.sh [DIR]          # default DIR = deps
#
# It downloads the packages with `apt-get download` (no root needed) and
# unpacks them with `dpkg -x` into DIR (runtime libraries included, so the
# unversioned .so links resolve). Copy DIR to the node and configure with
#
#     cmake -S . -B build -DCMAKE_PREFIX_PATH=$PWD/deps/usr ...
#
# At run time getp uses the node's own libpcre2-8.so.0 / libjansson.so.4 / libz.so.1
# (same sonames), or set LD_LIBRARY_PATH=$PWD/deps/usr/lib/x86_64-linux-gnu.
set -eu
dir=${1:-deps}
mkdir -p "$dir/debs"
cd "$dir/debs"
apt-get download libpcre2-dev libpcre2-8-0 libjansson-dev libjansson4 zlib1g-dev zlib1g
for f in *.deb; do dpkg -x "$f" ..; done
cd ..
echo "fetch_deps: headers in $(pwd)/usr/include; configure with -DCMAKE_PREFIX_PATH=$(pwd)/usr"
