#!/bin/bash
# Installs the Debian 12 packages partita builds with, if any are missing.
# Safe to run again: it only calls apt-get when something is absent.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libyaml-dev check libsubunit-dev libjansson-dev
  libopenblas-dev libopenmpi-dev openmpi-bin
  llvm-16-dev
  clang-14 libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer and the sanitizers' runtimes
  python3  # tests/mpi_train.sh reads JSON with it
  python3-numpy  # tests/peers.sh: the PyTorch peers' safetensors plumbing (torch is not needed)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all build dependencies are installed"
  exit 0
fi

echo "setup: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
  if ! command -v sudo >/dev/null; then
    echo "setup: error: need root to install: ${missing[*]}" >&2
    echo "setup: run as root, or install them with: apt-get install ${missing[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get update -q >/tmp/partita-apt.log 2>&1 ||
   ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/partita-apt.log 2>&1; then
  tail -20 /tmp/partita-apt.log >&2
  echo "setup: error: apt-get could not install: ${missing[*]} (full log: /tmp/partita-apt.log)" >&2
  exit 1
fi
echo "setup: installed ${missing[*]}"
