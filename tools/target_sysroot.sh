#!/usr/bin/env bash
# A sysroot of the target's libraries that the cross builds link but the
# cross compilers do not bring: Google Benchmark (the bench_* programs) and
# zlib (the examples' data and pictures), from Debian's own packages for the
# target architecture, unpacked into DIR. apt runs with a private state
# directory for that architecture, so the host's apt sources and dpkg
# architectures are left as they are.
# Usage: tools/target_sysroot.sh ARCH DIR   (ARCH: arm64, armhf or armel)
set -euo pipefail
arch=$1
dir=$(realpath -m "$2")
[ -f "$dir/.complete" ] && exit 0
pkgs=(libbenchmark-dev libbenchmark1debian zlib1g zlib1g-dev)
state="$dir/.apt"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs"
apt_opts=(-qq -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache"
          -o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
          -o "APT::Sandbox::User=root")
apt-get "${apt_opts[@]}" update
(cd "$state/debs" && apt-get "${apt_opts[@]}" download "${pkgs[@]}")
for deb in "$state/debs"/*.deb; do dpkg-deb -x "$deb" "$dir"; done
# Absolute links (libz.so -> /lib/<triple>/libz.so.1) point into the sysroot.
find "$dir" -type l -lname '/*' | while read -r link; do
  ln -sfn "$dir$(readlink "$link")" "$link"
done
rm -rf "$state"
touch "$dir/.complete"
echo "sysroot for $arch in $dir: ${pkgs[*]}"
