#!/usr/bin/env bash
# The project's test command (README): unit, property, compatibility, scenario,
# simulator and end-to-end tests, then the official iggy-cli against a fresh node.
# Installs what it needs itself.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --all-targets --locked
cargo nextest run --workspace --locked --no-fail-fast
simulator/ci.sh
tests/iggy-cli.sh
