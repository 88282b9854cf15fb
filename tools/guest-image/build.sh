#!/bin/sh
# Builds kumo-tiny, Kumo's tiny test guest (the analogue of CirrOS), as a bootable qcow2 image
# from Debian packages only: no loop mount, no root needed, no download.
#
#   tools/guest-image/build.sh [--kernel-deb FILE.deb] [--kernel-out FILE --ramdisk-out FILE] OUTPUT.qcow2
#   tools/guest-image/build.sh --check      # prerequisites present? (exit 0 or 1 and a list)
#
# --kernel-out and --ramdisk-out also write the kernel, uncompressed (the ELF vmlinux inside the
# bzImage, which QEMU boots directly through its PVH entry: no firmware, no boot loader and no
# decompressor, seconds less under TCG) and the initramfs, for an AMI-style image (Glance
# kernel_id / ramdisk_id); the disk stays bootable on its own either way.
#
# The kernel is the newest installed Debian linux-image package (/boot/vmlinuz-VERSION with
# /lib/modules/VERSION), never the running kernel; KUMO_GUEST_KERNEL=VERSION picks another, and
# --kernel-deb extracts a linux-image-*.deb with dpkg-deb -x instead.
#
# Disk layout (64 MiB virtual, MBR):
#   p1  1 MiB .. 32 MiB  FAT16 "KUMOBOOT", active: syslinux, vmlinuz, initrd.gz, syslinux.cfg
#   p2 32 MiB .. 64 MiB  ext4 "kumo-data": mounted by the guest at /data (persistent)
# The OUTPUT file is replaced atomically; running the script again rebuilds it.
set -eu
# Modes inside the image must not depend on the caller's umask (kumo runs with 0077).
umask 022

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
LC_ALL=C
export LC_ALL
MTOOLS_SKIP_CHECK=1
export MTOOLS_SKIP_CHECK

HERE=$(cd "$(dirname "$0")" && pwd)
APT_PACKAGES="linux-image-amd64 busybox-static syslinux syslinux-common mtools dosfstools fdisk e2fsprogs cpio gzip xz-utils kmod qemu-utils"
MBR_BIN=/usr/lib/syslinux/mbr/mbr.bin
# Modules the guest loads; build.sh adds their dependencies (modinfo -F depends) in front.
# crc32c_generic is ext4's/jbd2's soft dependency (metadata checksums); TCG has no SSE4.2 for
# crc32c-intel.
GUEST_MODULES="virtio_pci virtio_net virtio_blk button evdev crc32c_generic ext4"
# The guest loads these (and their dependencies) first and starts DHCP before the rest.
NET_MODULES="virtio_pci virtio_net"
DISK_MB=64
BOOT_START=2048      # sectors: p1 at 1 MiB
DATA_START=65536     # sectors: p2 at 32 MiB

die() {
  echo "build.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 [--kernel-deb FILE.deb] [--kernel-out FILE --ramdisk-out FILE] OUTPUT.qcow2 | --check" >&2
  exit 2
}

# Path of the static busybox binary of the busybox-static package (a dynamic busybox would
# need a libc in the initramfs).
find_busybox() {
  dpkg-query -L busybox-static 2>/dev/null | grep '/bin/busybox$' | head -n 1
}

# Newest VERSION with both /boot/vmlinuz-VERSION and /lib/modules/VERSION/kernel.
find_kernel_version() {
  if [ -n "${KUMO_GUEST_KERNEL:-}" ]; then
    echo "$KUMO_GUEST_KERNEL"
    return 0
  fi
  for kernel in /boot/vmlinuz-*; do
    [ -f "$kernel" ] || continue
    version=${kernel#/boot/vmlinuz-}
    [ -d "/lib/modules/$version/kernel" ] && echo "$version"
  done | sort -V | tail -n 1
}

check() {
  missing=
  for cmd in dpkg-query dpkg-deb syslinux mcopy mkfs.vfat sfdisk mke2fs cpio gzip xz modinfo qemu-img truncate dd od find sort; do
    command -v "$cmd" >/dev/null 2>&1 || missing="$missing $cmd"
  done
  [ -f "$MBR_BIN" ] || missing="$missing $MBR_BIN"
  if command -v dpkg-query >/dev/null 2>&1; then
    [ -n "$(find_busybox)" ] || missing="$missing busybox-static"
  fi
  if [ "$1" = with-kernel ]; then
    version=$(find_kernel_version)
    if [ -z "$version" ] || [ ! -r "/boot/vmlinuz-$version" ]; then
      missing="$missing linux-image-amd64(/boot/vmlinuz-*)"
    fi
  fi
  if [ -n "$missing" ]; then
    echo "build.sh: missing:$missing" >&2
    echo "build.sh: install with: apt-get install -y --no-install-recommends $APT_PACKAGES" >&2
    return 1
  fi
  return 0
}

kernel_deb=
kernel_out=
ramdisk_out=
output=
while [ $# -gt 0 ]; do
  case "$1" in
  --check)
    check with-kernel
    echo "build.sh: ready (kernel $(find_kernel_version), busybox $(find_busybox))"
    exit 0
    ;;
  --kernel-deb)
    [ $# -ge 2 ] || usage
    kernel_deb=$2
    shift 2
    ;;
  --kernel-out|--ramdisk-out)
    [ $# -ge 2 ] || usage
    if [ "$1" = --kernel-out ]; then kernel_out=$2; else ramdisk_out=$2; fi
    shift 2
    ;;
  -h|--help)
    usage
    ;;
  -*)
    usage
    ;;
  *)
    [ -z "$output" ] || usage
    output=$1
    shift
    ;;
  esac
done
[ -n "$output" ] || usage
if [ -n "$kernel_out" ] && [ -z "$ramdisk_out" ] || [ -z "$kernel_out" ] && [ -n "$ramdisk_out" ]; then
  die "--kernel-out and --ramdisk-out go together"
fi

if [ -n "$kernel_deb" ]; then
  check without-kernel || exit 1
else
  check with-kernel || exit 1
fi

started=$(date +%s)
out_dir=$(cd "$(dirname "$output")" 2>/dev/null && pwd) || die "no such directory: $(dirname "$output")"
out_path=$out_dir/$(basename "$output")
out_tmp=$out_path.tmp.$$
# FILE as an absolute path (its directory must exist).
absolute() {
  dir=$(cd "$(dirname "$1")" 2>/dev/null && pwd) || die "no such directory: $(dirname "$1")"
  echo "$dir/$(basename "$1")"
}
[ -z "$kernel_out" ] || kernel_out=$(absolute "$kernel_out")
[ -z "$ramdisk_out" ] || ramdisk_out=$(absolute "$ramdisk_out")
work=
cleanup() {
  [ -z "$work" ] || rm -rf "$work"
  rm -f "$out_tmp"
  [ -z "$kernel_out" ] || rm -f "$kernel_out.tmp.$$" "$ramdisk_out.tmp.$$"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
work=$(mktemp -d "${TMPDIR:-/tmp}/kumo-guest-image.XXXXXX")

# --- kernel ------------------------------------------------------------------------------
if [ -n "$kernel_deb" ]; then
  dpkg-deb -x "$kernel_deb" "$work/kernel-pkg"
  root=$work/kernel-pkg
  version=
  for kernel in "$root"/boot/vmlinuz-*; do
    [ -f "$kernel" ] && version=${kernel#"$root"/boot/vmlinuz-}
  done
  [ -n "$version" ] || die "$kernel_deb holds no boot/vmlinuz-*"
else
  root=
  version=$(find_kernel_version)
fi
vmlinuz=$root/boot/vmlinuz-$version
moddir=$root/lib/modules/$version
[ -r "$vmlinuz" ] || die "cannot read $vmlinuz"
[ -d "$moddir/kernel" ] || [ -d "$root/usr/lib/modules/$version/kernel" ] || die "no modules for $version"
[ -d "$moddir/kernel" ] || moddir=$root/usr/lib/modules/$version

# --- initramfs -----------------------------------------------------------------------------
rootfs=$work/rootfs
mkdir -p "$rootfs"
(
  cd "$rootfs"
  mkdir -p bin sbin usr/bin usr/sbin lib/modules etc/kumo-tiny dev proc sys run tmp root data var/log mnt
)
busybox=$(find_busybox)
cp "$busybox" "$rootfs/bin/busybox"
chmod 755 "$rootfs/bin/busybox"
"$busybox" --list-full | while read -r applet; do
  case "$applet" in
  bin/busybox|"") continue ;;
  esac
  [ -d "$rootfs/${applet%/*}" ] || mkdir -p "$rootfs/${applet%/*}"
  [ -e "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
done
ln -sf bin/busybox "$rootfs/init"
ln -sf /bin/busybox "$rootfs/sbin/init"
ln -sf /proc/mounts "$rootfs/etc/mtab"

# Name -> file index of the kernel's modules (file names may use - where names use _).
find "$moddir/kernel" -type f \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' \) -printf '%f %p\n' |
  awk '{ name = $1; sub(/\.ko(\.xz|\.zst)?$/, "", name); gsub(/-/, "_", name); print name, $2 }' >"$work/modules.index"

order=
add_module() {
  case " $order " in
  *" $1 "*) return 0 ;;
  esac
  file=$(awk -v n="$1" '$1 == n { print $2; exit }' "$work/modules.index")
  [ -n "$file" ] || die "module $1 not found under $moddir"
  for dep in $(modinfo -F depends "$file" | tr , ' '); do
    add_module "$dep"
  done
  order="$order $1"
}
for module in $NET_MODULES; do
  add_module "$module"
done
net_order=$order
for module in $GUEST_MODULES; do
  add_module "$module"
done
: >"$rootfs/etc/kumo-tiny/modules.net"
: >"$rootfs/etc/kumo-tiny/modules"
for module in $order; do
  file=$(awk -v n="$module" '$1 == n { print $2; exit }' "$work/modules.index")
  case "$file" in
  *.ko.xz) xz -dc "$file" >"$rootfs/lib/modules/$module.ko" ;;
  *.ko.zst) zstd -qdc "$file" >"$rootfs/lib/modules/$module.ko" ;;
  *) cp "$file" "$rootfs/lib/modules/$module.ko" ;;
  esac
  case " $net_order " in
  *" $module "*) echo "$module" >>"$rootfs/etc/kumo-tiny/modules.net" ;;
  *) echo "$module" >>"$rootfs/etc/kumo-tiny/modules" ;;
  esac
done
echo "$version" >"$rootfs/etc/kumo-tiny/kernel"

# Our files, then explicit modes (a checkout does not always keep them).
cp -R "$HERE/rootfs/." "$rootfs/"
chmod 755 "$rootfs/etc/init.d/rcS" "$rootfs/etc/init.d/rcK" \
  "$rootfs/etc/acpi/PWRF/00000080" "$rootfs/usr/share/udhcpc/default.script"
chmod 700 "$rootfs/root"
chmod 1777 "$rootfs/tmp"

(cd "$rootfs" && find . | sort | cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9n >"$work/initrd.gz"

# --- boot partition (FAT16, syslinux) ------------------------------------------------------
boot_sectors=$((DATA_START - BOOT_START))
data_sectors=$((DISK_MB * 2048 - DATA_START))
# Size in KiB; -h = hidden sectors = the partition's offset; -i = fixed volume id.
mkfs.vfat -F 16 -n KUMOBOOT -i 4b756d6f -h "$BOOT_START" -C "$work/boot.img" $((boot_sectors / 2)) >/dev/null
syslinux --install "$work/boot.img"
mcopy -i "$work/boot.img" "$HERE/syslinux.cfg" ::/syslinux.cfg
mcopy -i "$work/boot.img" "$vmlinuz" ::/vmlinuz
mcopy -i "$work/boot.img" "$work/initrd.gz" ::/initrd.gz

# --- data partition (ext4, empty) ----------------------------------------------------------
mke2fs -q -F -t ext4 -L kumo-data -b 4096 -I 256 -m 0 -E root_owner=0:0 \
  "$work/data.img" $((data_sectors / 2))k >/dev/null

# --- disk ----------------------------------------------------------------------------------
truncate -s "${DISK_MB}M" "$work/disk.raw"
printf 'label: dos\nlabel-id: 0x4b756d6f\nstart=%s, size=%s, type=e, bootable\nstart=%s, size=%s, type=83\n' \
  "$BOOT_START" "$boot_sectors" "$DATA_START" "$data_sectors" | sfdisk -q "$work/disk.raw"
dd if="$MBR_BIN" of="$work/disk.raw" bs=440 count=1 conv=notrunc status=none
dd if="$work/boot.img" of="$work/disk.raw" bs=512 seek="$BOOT_START" conv=notrunc,sparse status=none
dd if="$work/data.img" of="$work/disk.raw" bs=512 seek="$DATA_START" conv=notrunc,sparse status=none

qemu-img convert -q -f raw -O qcow2 -c "$work/disk.raw" "$out_tmp"

# --- kernel and ramdisk for a direct boot -------------------------------------------------
if [ -n "$kernel_out" ]; then
  # The bzImage's payload (boot protocol 2.08+): payload_offset (0x248) and payload_length
  # (0x24c) locate it after the real-mode setup ((setup_sects + 1) * 512 bytes). Little-endian
  # fields, read byte by byte so the builder's own byte order does not matter.
  le32() {
    od -An -tu1 -j "$1" -N 4 "$vmlinuz" | awk '{ print $1 + 256 * ($2 + 256 * ($3 + 256 * $4)) }'
  }
  setup_sects=$(od -An -tu1 -j 497 -N 1 "$vmlinuz" | tr -d ' ')
  [ "$setup_sects" -ne 0 ] || setup_sects=4
  payload_start=$(( (setup_sects + 1) * 512 + $(le32 584) ))
  payload_length=$(le32 588)
  tail -c +$((payload_start + 1)) "$vmlinuz" | head -c "$payload_length" >"$work/payload"
  case "$(od -An -tx1 -N 6 "$work/payload" | tr -d ' ')" in
  fd377a585a00) xz -dc --single-stream "$work/payload" >"$kernel_out.tmp.$$" ;;
  1f8b*) gzip -dc "$work/payload" >"$kernel_out.tmp.$$" ;;
  *) die "$vmlinuz: its payload is neither xz nor gzip; cannot write --kernel-out" ;;
  esac
  [ "$(od -An -tx1 -N 4 "$kernel_out.tmp.$$" | tr -d ' ')" = 7f454c46 ] || die "$vmlinuz: its payload is not an ELF vmlinux"
  cp "$work/initrd.gz" "$ramdisk_out.tmp.$$"
  chmod 644 "$kernel_out.tmp.$$" "$ramdisk_out.tmp.$$"
  mv -f "$kernel_out.tmp.$$" "$kernel_out"
  mv -f "$ramdisk_out.tmp.$$" "$ramdisk_out"
fi
mv -f "$out_tmp" "$out_path"

size=$(wc -c <"$out_path")
echo "build.sh: built $out_path ($size bytes, ${DISK_MB} MiB virtual, kernel $version, initrd $(wc -c <"$work/initrd.gz") bytes, $(($(date +%s) - started)) s)" >&2
