#!/usr/bin/env bash
# Fetches the guest Linux used by the arm64 Linux tests and benchmarks: Debian 12's
# arm64 kernel (an uncompressed Image) and busybox-static, and packs an initramfs with
# busybox, tests/guest/linux/init and the kernel's gpio_keys and evdev modules (the power
# button: Debian builds them as modules). Idempotent; output in ${KEEL_CACHE}/guests:
#   Image-arm64 (the kernel), initramfs-arm64.cpio.gz, kernel-version.txt
# Uses a private apt configuration (its own lists, architecture arm64, empty dpkg
# status), so the system's apt and dpkg state are left alone: no --add-architecture.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cache=${KEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keel}
out=$cache/guests
say() { printf 'fetch-guests: %s\n' "$*"; }
die() { printf 'fetch-guests: ERROR: %s\n' "$*" >&2; exit 1; }
for t in apt-get dpkg-deb cpio gzip; do command -v $t >/dev/null || die "missing tool: $t"; done

mkdir -p "$out"
init_src=$root/tests/guest/linux/init
# Re-packed whenever the init or this script (the initramfs's contents) changes.
stamp=$out/.keel-$(cat "$init_src" "$0" | sha256sum | cut -c1-16)
if [[ -f $stamp && -f $out/Image-arm64 && -f $out/initramfs-arm64.cpio.gz ]]; then
  say "up to date: $(cat "$out/kernel-version.txt") in $out"; exit 0
fi

P=$cache/apt-arm64
mkdir -p "$P/lists/partial" "$P/cache/archives/partial" "$P/parts"
: >"$P/status"
cat >"$P/parts/keel-arm64.sources" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Architectures: arm64
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
cat >"$P/apt.conf" <<CONF
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$P/parts";
Dir::State::Lists "$P/lists";
Dir::State::status "$P/status";
Dir::Cache "$P/cache";
CONF
export APT_CONFIG=$P/apt.conf
apt-get update -q >"$P/update.log" 2>&1 || die "could not read Debian's arm64 package index: see $P/update.log"

kpkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-arm64-unsigned$' | awk '{print $1}' | sort -V | tail -1)
[[ -n $kpkg ]] || die "no package linux-image-6.1.0-NN-arm64-unsigned in the arm64 index"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for pkg in "$kpkg" busybox-static; do
  (cd "$work" && apt-get download -q "$pkg:arm64" >>"$P/download.log" 2>&1) \
    || die "package $pkg:arm64 could not be downloaded (see $P/download.log)"
  dpkg-deb -x "$work"/"$pkg"_*.deb "$work/x" || die "package $pkg: cannot unpack"
done
kimg=$(ls "$work"/x/boot/vmlinuz-* 2>/dev/null | head -1)
[[ -n $kimg ]] || die "package $kpkg: no /boot/vmlinuz-*"
[[ $(dd if="$kimg" bs=1 skip=56 count=4 2>/dev/null | od -An -c | tr -d ' \n') == 'ARMd' ]] \
  || die "package $kpkg: vmlinuz is not an uncompressed arm64 Image"
[[ -x $work/x/bin/busybox ]] || die "package busybox-static: no /bin/busybox"
kver=$(basename "$kimg" | sed 's/^vmlinuz-//')
mods=(drivers/input/keyboard/gpio_keys.ko drivers/input/evdev.ko)
for m in "${mods[@]}"; do
  [[ -f $work/x/lib/modules/$kver/kernel/$m ]] || die "package $kpkg: no module $m"
done

rd=$work/rd
mkdir -p "$rd"/{bin,sbin,dev,proc,sys,etc,lib/modules}
cp "$work/x/bin/busybox" "$rd/bin/busybox"
for a in sh mount echo cat grep nproc poweroff sleep insmod dd od sync; do ln -s busybox "$rd/bin/$a"; done
for m in "${mods[@]}"; do cp "$work/x/lib/modules/$kver/kernel/$m" "$rd/lib/modules/"; done
install -m 0755 "$init_src" "$rd/init"
(cd "$rd" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -9n) >"$out/initramfs-arm64.cpio.gz.tmp"
cp "$kimg" "$out/Image-arm64.tmp"
mv "$out/Image-arm64.tmp" "$out/Image-arm64"
mv "$out/initramfs-arm64.cpio.gz.tmp" "$out/initramfs-arm64.cpio.gz"
basename "$kimg" | sed 's/^vmlinuz-//' >"$out/kernel-version.txt"
rm -f "$out"/.keel-*; touch "$stamp"
say "kernel $(cat "$out/kernel-version.txt") ($kpkg), busybox-static; initramfs $(stat -c %s "$out/initramfs-arm64.cpio.gz") bytes in $out"
