#!/usr/bin/env bash
# Runs the official Apache Iggy CLI (iggy-cli 0.14.0) against a fresh vireo node on
# loopback, over TCP and QUIC: ping, login, stream/topic create and list, message send
# and poll, consumer groups and their offsets, stats. Every command must succeed and
# print what it should.
#
# iggy-cli is installed once with `cargo install --locked` into a cache outside the
# clone ($VIREO_CACHE_DIR, default ~/.cache/vireo). The node binary is $VIREO_BIN, or
# target/debug/vireo (built if missing).
#
# iggy-cli 0.14.0 has no `consumer-group join` command (joining happens in SDK
# consumers; tests/tests/consumer_groups.rs covers it); the script creates, lists and
# inspects a group and stores and reads the group's offset.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${VIREO_CACHE_DIR:-$HOME/.cache/vireo}"
iggy="$cache/iggy-cli/bin/iggy"
if [ ! -x "$iggy" ] || ! "$iggy" --version 2>/dev/null | grep -q '0\.14\.0'; then
  echo "== installing iggy-cli 0.14.0 into $cache/iggy-cli (once)"
  CARGO_TARGET_DIR="$cache/iggy-cli-target" \
    cargo install --locked --root "$cache/iggy-cli" iggy-cli --version 0.14.0
fi

target_dir="${CARGO_TARGET_DIR:-target}"
vireo="${VIREO_BIN:-$target_dir/debug/vireo}"
if [ ! -x "$vireo" ]; then
  cargo build -p vireo-node --bin vireo
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
tcp_port=$(free_port); quic_port=$(free_port); http_port=$(free_port)
data_dir=$(mktemp -d "${TMPDIR:-/tmp}/vireo-cli-XXXXXX")
log="$data_dir.log"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$data_dir" "$log"
}
trap cleanup EXIT

VIREO_ROOT_PASSWORD=iggy "$vireo" server \
  --data-dir "$data_dir" \
  --tcp-address "127.0.0.1:$tcp_port" --quic-address "127.0.0.1:$quic_port" \
  --http-address "127.0.0.1:$http_port" \
  --set node.pin_cores=false --set consensus.partition_groups=2 \
  --set consensus.metadata_journal_slots=128 --set consensus.metadata_snapshot_size_max=4MiB \
  --set consensus.partition_journal_slots=64 --set consensus.partition_message_size_max=1MiB \
  --set consensus.partition_snapshot_size_max=4MiB --set storage.segment_size=2MiB \
  >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q '^vireo: serving' "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "vireo exited during start-up"; exit 1; }
  sleep 0.1
done
grep -q '^vireo: serving' "$log" || { cat "$log"; echo "vireo did not start"; exit 1; }

# Each step: a label, a pattern the output must contain, then the command.
step() {
  local label=$1 expect=$2; shift 2
  local output
  if ! output=$(timeout 60 "$@" 2>&1); then
    echo "FAIL: $label"; echo "$output"; exit 1
  fi
  if ! grep -qE -- "$expect" <<<"$output"; then
    echo "FAIL: $label: output lacks /$expect/"; echo "$output"; exit 1
  fi
  echo "ok: $label"
}

tcp=("$iggy" --transport tcp --tcp-server-address "127.0.0.1:$tcp_port" -u iggy -p iggy)
quic=("$iggy" --transport quic --quic-server-address "127.0.0.1:$quic_port"
      --quic-server-name localhost -u iggy -p iggy)

step "ping (tcp)" "Ping sequence id: 3" "${tcp[@]}" ping -c 3
# Every command below logs in with -u/-p (a LoginRegister on a fresh connection).
# `iggy login` additionally stores the session in the desktop keyring, which headless
# machines lack: run it only where a session bus exists.
if [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  step "login (keyring session)" "." "${tcp[@]}" login
fi
step "login + me (tcp)" "User ID +\\| 0" "${tcp[@]}" me
step "stream create" "created" "${tcp[@]}" stream create cli-stream
step "stream list" "cli-stream" "${tcp[@]}" stream list
step "topic create" "created" "${tcp[@]}" topic create cli-stream cli-topic 2 none
step "topic list" "cli-topic" "${tcp[@]}" topic list cli-stream
step "message send" "Sent messages" "${tcp[@]}" message send --partition-id 0 cli-stream cli-topic hello world
step "message poll" "world" "${tcp[@]}" message poll --first --message-count 2 cli-stream cli-topic 0
step "consumer-group create" "created" "${tcp[@]}" consumer-group create cli-stream cli-topic cli-group
step "consumer-group list" "cli-group" "${tcp[@]}" consumer-group list cli-stream cli-topic
step "consumer-group get" "cli-group" "${tcp[@]}" consumer-group get cli-stream cli-topic cli-group
step "consumer-offset set (group)" "set to 1" \
  "${tcp[@]}" consumer-offset set --kind consumer-group cli-group cli-stream cli-topic 0 1
step "consumer-offset get (group)" "Stored offset +\\| 1" \
  "${tcp[@]}" consumer-offset get --kind consumer-group cli-group cli-stream cli-topic 0
step "stats" "Streams Count +\\| 1" "${tcp[@]}" stats
step "ping (quic)" "Ping sequence id: 3" "${quic[@]}" ping -c 3
step "stream list (quic)" "cli-stream" "${quic[@]}" stream list
step "message send (quic)" "Sent messages" "${quic[@]}" message send --partition-id 1 cli-stream cli-topic over-quic
step "message poll (quic)" "over-quic" "${quic[@]}" message poll --first --message-count 1 cli-stream cli-topic 1
step "stats (quic)" "Topics Count +\\| 1" "${quic[@]}" stats
echo "iggy-cli 0.14.0: all commands passed against vireo"
