#!/usr/bin/env bash
# Installs the Debian packages the e2e suites use: kcat, python3-confluent-kafka, python3-kafka.
# Idempotent: does nothing (and never runs apt-get update) when every package is already installed.
set -euo pipefail

packages=(kcat python3-confluent-kafka python3-kafka)
missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "apt.sh: already installed: ${packages[*]}"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo -n); else
    echo "apt.sh: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "apt.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# apt and dpkg serialise on their own locks; wait for them instead of failing when another install runs.
"${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
"${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"

# Fail loudly if anything is still missing (e.g. a renamed package).
command -v kcat >/dev/null || { echo "apt.sh: kcat not on PATH after install" >&2; exit 1; }
/usr/bin/python3 -c 'import confluent_kafka, kafka' || { echo "apt.sh: python modules missing after install" >&2; exit 1; }
echo "apt.sh: done"
