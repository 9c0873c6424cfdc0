#!/usr/bin/env bash
# Installs the real Kafka clients that mock-broker/tests/real_clients.rs produces with:
#   kcat (apt), confluent-kafka and kafka-python (a venv at .venv, pinned in
#   mock-broker/tests/clients/requirements.txt), kafkajs (npm ci in mock-broker/tests/clients),
# the C/C++ toolchain the rdkafka crate needs to build librdkafka from source, and headless
# Chromium (apt), in which loadgen/tests/browser renders loadgen's HTML report.
# Safe to run again: it only installs what is missing or whose pinned versions changed, and then
# takes about a second. Debian/Ubuntu only for the system packages (apt-get); elsewhere it says
# what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

clients=mock-broker/tests/clients
venv=.venv

say() { printf 'install-clients: %s\n' "$*"; }

# --- system packages -----------------------------------------------------------------------------
packages=()
command -v kcat >/dev/null || packages+=(kcat)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
# Debian's python3 lacks venv and ensurepip until python3-venv is installed.
if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  packages+=(python3 python3-venv)
fi
# The rdkafka crate runs librdkafka's ./configure and make, which builds C and C++.
command -v make >/dev/null || packages+=(make)
command -v cc >/dev/null || packages+=(gcc)
command -v c++ >/dev/null || packages+=(g++)
# loadgen's HTML report is checked in a real browser.
command -v chromium >/dev/null || packages+=(chromium)

if [ ${#packages[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    say "missing ${packages[*]}, and this is not a Debian-like system: install them, then run this again" >&2
    exit 1
  fi
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { say "installing ${packages[*]} needs root or sudo" >&2; exit 1; }
    sudo=(sudo)
  fi
  say "apt-get install ${packages[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# The content hash of a file, for "already installed from this exact pin" stamps.
hash_of() { sha256sum "$1" | cut -d' ' -f1; }

# --- Python clients ------------------------------------------------------------------------------
if [ ! -x "$venv/bin/python" ]; then
  say "python3 -m venv $venv"
  python3 -m venv "$venv"
fi
stamp="$venv/.mock-broker-requirements"
wanted=$(hash_of "$clients/requirements.txt")
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] \
  || ! "$venv/bin/python" -c 'import confluent_kafka, kafka' 2>/dev/null; then
  say "pip install -r $clients/requirements.txt"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$clients/requirements.txt"
  printf '%s\n' "$wanted" >"$stamp"
fi

# --- kafkajs -------------------------------------------------------------------------------------
stamp="$clients/node_modules/.mock-broker-lock"
wanted=$(hash_of "$clients/package-lock.json")
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] || [ ! -f "$clients/node_modules/kafkajs/package.json" ]; then
  say "npm ci in $clients"
  (cd "$clients" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  printf '%s\n' "$wanted" >"$stamp"
fi

# --- what is installed ---------------------------------------------------------------------------
say "kcat $(kcat -V 2>&1 | sed -n 's/^Version \([^ ]*\).*\(librdkafka [^ ]*\).*/\1 (\2)/p')"
say "$("$venv/bin/python" -c 'import confluent_kafka, kafka, sys
print("python %s, confluent-kafka %s (librdkafka %s), kafka-python %s" % (sys.version.split()[0],
      confluent_kafka.__version__, confluent_kafka.libversion()[0], kafka.__version__))')"
say "$(chromium --version 2>/dev/null | head -n1)"
say "node $(node --version), kafkajs $(node -p "require('./$clients/node_modules/kafkajs/package.json').version")"
