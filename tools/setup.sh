#!/usr/bin/env bash
# Keel set-up: installs every Debian package the project needs and fetches the
# third-party sources listed in tools/deps.lock into a cache outside the tree.
# Idempotent; run as root on Debian 12. Exits non-zero naming what failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cache=${KEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keel}
deps=$cache/deps
say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (it installs Debian packages)"
mkdir -p "$cache" "$deps"

# Why each package: see README.md, "What set-up installs".
packages=(
  build-essential cmake ninja-build clang lld llvm clang-format libclang-rt-14-dev
  python3 git ca-certificates xz-utils bzip2
  libgtest-dev libgmock-dev
  qemu-system-arm qemu-system-x86 qemu-utils
  bochs bochs-term bochsbios vgabios
  grub-pc-bin grub-common xorriso mtools gdisk dosfstools
  ovmf qemu-efi-aarch64 swtpm swtpm-tools tpm2-tools
  device-tree-compiler cpio
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if (( ${#missing[@]} )); then
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || die "apt-get update failed"
  apt-get install -y -q --no-install-recommends "${missing[@]}" >"$cache.apt.log" 2>&1 \
    || { tail -20 "$cache.apt.log" >&2; die "apt-get install failed for: ${missing[*]}"; }
fi

# Private apt configuration for source packages (bookworm + trixie deb-src), so the
# system's apt state is left alone. apt checks every file against the SHA256 in the
# signed Sources index; we check again against tools/deps.lock.
mkdir -p "$cache" "$deps"
P=$cache/apt
mkdir -p "$P/lists/partial" "$P/cache/archives/partial" "$P/parts"
cat >"$P/parts/keel-src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
cat >"$P/apt.conf" <<CONF
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$P/parts";
Dir::State::Lists "$P/lists";
Dir::Cache "$P/cache";
CONF

need_update=1
while read -r name srcpkg version suite orig sha; do
  [[ -z $name || $name == \#* ]] && continue
  stamp=$deps/$name/.keel-$version
  [[ -f $stamp ]] && continue
  if [[ ! -f $cache/src/$orig ]] || ! echo "$sha  $cache/src/$orig" | sha256sum -c --quiet - 2>/dev/null; then
    if (( need_update )); then
      APT_CONFIG=$P/apt.conf apt-get update -q >"$cache/apt-src.log" 2>&1 \
        || die "could not read Debian's source index (deb-src bookworm/trixie): see $cache/apt-src.log"
      need_update=0
    fi
    mkdir -p "$cache/src"
    say "fetching $srcpkg=$version ($suite)"
    # apt-get source exits 100 if any file of the source package is missing from the
    # pool, even when the orig tarball arrived: judge by the tarball itself.
    (cd "$cache/src" && APT_CONFIG=$P/apt.conf apt-get source -q --download-only "$srcpkg=$version" >>"$cache/apt-src.log" 2>&1) || true
    [[ -f $cache/src/$orig ]] || die "package $srcpkg=$version: $orig not served by the archive (see $cache/apt-src.log)"
    echo "$sha  $cache/src/$orig" | sha256sum -c --quiet - \
      || die "package $srcpkg=$version: $orig does not match the SHA256 in tools/deps.lock"
  fi
  rm -rf "${deps:?}/$name"; mkdir -p "$deps/$name"
  tar xf "$cache/src/$orig" -C "$deps/$name" --strip-components=1 || die "cannot unpack $orig"
  touch "$stamp"
  say "$name: $srcpkg $version ready in $deps/$name"
done <"$here/deps.lock"

printf '%s\n' "$deps" >"$cache/deps.path"
say "third-party versions:"
awk '!/^#/ && NF { printf "setup:   %-8s %s %s (%s)\n", $1, $2, $3, $4 }' "$here/deps.lock"
"$here/fetch-guests.sh" || die "guest Linux (arm64, amd64): see the message above"
say "done (cache: $cache)"
