#!/usr/bin/env bash
# Installs cargo-zigbuild and zig, the linker that builds the Linux binaries against glibc 2.17 and
# musl, from their Python wheels into a venv of their own (about 450 MB, seconds to install), and
# prints the venv's bin directory. Does nothing but print it when they are already there.
set -euo pipefail
dir="${PGRP_ZIG_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pg-rust-pool/zig}"
if [ ! -x "$dir/bin/cargo-zigbuild" ] || [ ! -x "$dir/bin/python-zig" ]; then
  if ! python3 -m venv "$dir" >&2; then
    # Debian ships venv separately from python3.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq >&2 && apt-get install -y -qq python3-venv >&2
      python3 -m venv "$dir" >&2
    else
      echo "python3 -m venv failed: install python3-venv" >&2
      exit 1
    fi
  fi
  # Pinned together: cargo-zigbuild 0.24 was tested with zig 0.17.
  "$dir/bin/pip" install --quiet --disable-pip-version-check cargo-zigbuild==0.24.1 ziglang==0.17.1 >&2
fi
echo "$dir/bin"
