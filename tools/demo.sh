#!/usr/bin/env bash
# The main job: install what is missing, build the module and the tools,
# boot Debian's kernel in QEMU with 64 MiB reserved at boot, insmod on
# that region, run "fnmm demo" (allocate, map, write/read, lookup, stats,
# release) and rmmod.
set -euo pipefail
cd "$(dirname "$0")/.."
exec tools/vm/run.sh "$@" tools/vm/guest/demo.sh
