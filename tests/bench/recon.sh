#!/bin/sh
# Recon arithmetic and prefix-tree figures (tests/bench/recon-zp.c).
cd "$(dirname "$0")/../.." || exit 1
[ -x tests/bench/recon-zp ] || make -s tests/bench/recon-zp || exit 1
exec tests/bench/recon-zp
