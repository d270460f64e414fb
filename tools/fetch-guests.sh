#!/usr/bin/env bash
# Fetches the guest Linux the tests, benchmarks and demo boot: for each architecture,
# Debian 12's kernel (arm64: an uncompressed Image; amd64: a bzImage, for the x86 Linux
# work of issue 12) and busybox-static, and packs an initramfs with busybox and
# tests/guest/linux/init, with the kernel's nvme-core and nvme modules (an assigned SR-IOV
# VF; Debian builds them as modules) and on arm64 gpio_keys and evdev (the power button).
# Idempotent, one stamp per architecture; output
# in ${KEEL_CACHE}/guests:
#   Image-arm64, initramfs-arm64.cpio.gz, kernel-version.txt
#   bzImage-amd64, initramfs-amd64.cpio.gz, kernel-version-amd64.txt
# Uses a private apt configuration per architecture (its own lists, an empty dpkg status),
# so the system's apt and dpkg state are left alone: no --add-architecture.
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
. "$here/guest-apt.sh"

# fetch ARCH KERNEL_FILE VERSION_FILE: one architecture's kernel and initramfs.
fetch() {
  local arch=$1 kout=$2 vout=$3
  # Re-packed whenever the init or this script (the initramfs's contents) changes.
  local stamp=$out/.keel-$arch-$(cat "$init_src" "$0" "$here/guest-apt.sh" | sha256sum | cut -c1-16)
  if [[ -f $stamp && -f $out/$kout && -f $out/initramfs-$arch.cpio.gz ]]; then
    say "$arch up to date: $(cat "$out/$vout") in $out"; return
  fi
  local P=$cache/apt-$arch
  guest_apt "$arch" "$P" || die "could not read Debian's $arch package index: see $P/update.log"
  local kpkg
  kpkg=$(apt-cache search --names-only "^linux-image-6\.1\.0-[0-9]+-$arch-unsigned\$" | awk '{print $1}' | sort -V | tail -1)
  [[ -n $kpkg ]] || die "no package linux-image-6.1.0-NN-$arch-unsigned in the $arch index"
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  for pkg in "$kpkg" busybox-static; do
    (cd "$work" && apt-get download -q "$pkg:$arch" >>"$P/download.log" 2>&1) \
      || die "package $pkg:$arch could not be downloaded (see $P/download.log)"
    dpkg-deb -x "$work"/"$pkg"_*.deb "$work/x" || die "package $pkg: cannot unpack"
  done
  local kimg kver
  kimg=$(ls "$work"/x/boot/vmlinuz-* 2>/dev/null | head -1)
  [[ -n $kimg ]] || die "package $kpkg: no /boot/vmlinuz-*"
  kver=$(basename "$kimg" | sed 's/^vmlinuz-//')
  # nvme with what nvme-core needs (t10-pi and its CRCs, in load order; the init loads
  # them): a VF Keel assigns (docs/sriov.md); Debian builds them as modules on both.
  local mods=(crypto/crct10dif_common.ko crypto/crct10dif_generic.ko lib/crc-t10dif.ko lib/crc64.ko
              crypto/crc64_rocksoft_generic.ko lib/crc64-rocksoft.ko block/t10-pi.ko
              drivers/nvme/host/nvme-core.ko drivers/nvme/host/nvme.ko)
  if [[ $arch == arm64 ]]; then
    [[ $(dd if="$kimg" bs=1 skip=56 count=4 2>/dev/null | od -An -c | tr -d ' \n') == 'ARMd' ]] \
      || die "package $kpkg: vmlinuz is not an uncompressed arm64 Image"
    # gpio-keys + evdev: the power button.
    mods=(drivers/input/keyboard/gpio_keys.ko drivers/input/evdev.ko "${mods[@]}")
  else # boot.rst: "HdrS" at 0x202 marks a bzImage's setup header
    [[ $(dd if="$kimg" bs=1 skip=514 count=4 2>/dev/null) == HdrS ]] || die "package $kpkg: vmlinuz is not a bzImage"
  fi
  [[ -x $work/x/bin/busybox ]] || die "package busybox-static: no /bin/busybox"
  for m in "${mods[@]}"; do
    [[ -f $work/x/lib/modules/$kver/kernel/$m ]] || die "package $kpkg: no module $m"
  done
  local rd=$work/rd
  mkdir -p "$rd"/{bin,sbin,dev,proc,sys,etc,lib/modules}
  cp "$work/x/bin/busybox" "$rd/bin/busybox"
  for a in sh mount echo cat grep nproc poweroff sleep insmod dd od sync cmp; do ln -s busybox "$rd/bin/$a"; done
  for m in "${mods[@]}"; do cp "$work/x/lib/modules/$kver/kernel/$m" "$rd/lib/modules/"; done
  install -m 0755 "$init_src" "$rd/init"
  (cd "$rd" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -9n) >"$out/initramfs-$arch.cpio.gz.tmp"
  cp "$kimg" "$out/$kout.tmp"
  mv "$out/$kout.tmp" "$out/$kout"
  mv "$out/initramfs-$arch.cpio.gz.tmp" "$out/initramfs-$arch.cpio.gz"
  echo "$kver" >"$out/$vout"
  rm -f "$out"/.keel-$arch-* "$out"/.keel-????????????????; touch "$stamp"
  rm -rf "$work"; trap - EXIT
  say "$arch: kernel $kver ($kpkg), busybox-static; initramfs $(stat -c %s "$out/initramfs-$arch.cpio.gz") bytes in $out"
}

fetch arm64 Image-arm64 kernel-version.txt
fetch amd64 bzImage-amd64 kernel-version-amd64.txt
