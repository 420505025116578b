#!/usr/bin/env bash
# The simulator's CI step (called by tests/run.sh): every stored regression seed, a swarm
# of seeds derived from the commit, and a determinism double-run. Time-boxed to ~5 minutes
# on 2 cores. On failure it prints the seed and the exact replay command.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p vireo-simulator
sim=${CARGO_TARGET_DIR:-target}/release/vireo-sim
commit=$(git rev-parse HEAD 2>/dev/null || echo 0000000000000000000000000000000000000000)
seeds=${VIREO_SIM_SEEDS:-1000}

echo "== simulator: regression seeds"
failed=0
while read -r seed _; do
  case "$seed" in ''|'#'*) continue ;; esac
  if ! out=$(timeout 120 "$sim" --seed "$seed" --log quiet 2>&1); then
    echo "$out" | tail -n 20
    echo "FAIL regression seed $seed — replay: $sim --seed $seed"
    failed=1
  fi
done < simulator/regression-seeds.txt
[ "$failed" = 0 ] && echo "ok: every regression seed passes"

echo "== simulator: $seeds seeds derived from commit $commit"
timeout 240 "$sim" --seeds "$seeds" --from "$commit" || failed=1

echo "== simulator: determinism (seed = commit, run twice)"
timeout 120 "$sim" --seed "$commit" --check-determinism --log quiet | tail -n 3 || failed=1

exit "$failed"
