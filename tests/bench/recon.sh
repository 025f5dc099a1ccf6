#!/bin/sh
# Recon arithmetic and prefix-tree figures (tests/bench/recon-zp.c), then
# the reconciliation traffic of the driver strategies in memory
# (tests/bench/recon-traffic.c; tests/bench/reconcile.sh measures it
# against real SKS).
cd "$(dirname "$0")/../.." || exit 1
make -s tests/bench/recon-zp tests/bench/recon-traffic || exit 1
tests/bench/recon-zp || exit 1
tests/bench/recon-traffic -n 100000 -d 1000 -r 3 || exit 1
tests/bench/recon-traffic -n 1000000 -d 1000 -r 1
