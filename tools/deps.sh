#!/usr/bin/env bash
# Installs the Debian packages edgeattn needs that are missing (as root, or
# with sudo). Usage: tools/deps.sh [extra-package ...]
set -euo pipefail
pkgs=(g++ cmake make libxsimd-dev doctest-dev libbenchmark-dev "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
