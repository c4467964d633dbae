#!/bin/sh
# Makes the arm64 system image of the VM test (scripts/test-vm.sh), once per
# machine, and prints the directory that holds it: vmlinuz, initrd.img,
# root.img (4 GiB ext4, sparse) and .stamp. Progress goes to standard error.
#   dir=$(sh scripts/vm-image.sh)
# The image is cached under ${XDG_CACHE_HOME:-~/.cache}/mt-trafmon/vm-arm64
# (else target/), keyed by a hash of this script and scripts/private-apt.sh;
# images of other keys are removed.
#
# How: debootstrap's first stage on the host (--foreign: it only downloads
# and unpacks, no arm64 code runs on the host), turned into an ext4 image
# with mkfs.ext4 -d (no loop mounts), then booted once under
# qemu-system-aarch64 with Debian's arm64 kernel so that the second stage
# runs inside the VM (about 15 minutes of TCG on a busy two-core machine).
# The kernel (linux-image-*-arm64) and busybox-static come from Debian's
# arm64 packages through private apt lists (scripts/private-apt.sh), and are
# unpacked with dpkg -x. The initramfs is our own: busybox, the few modules
# the VM needs (virtio disk, network and entropy, ext4), and /init below,
# which mounts the root and hands over to systemd.
# The system: minbase with systemd, udev, dbus and adduser; root logged in
# on the serial console (ttyAMA0); a static address 10.0.2.15/24 (QEMU's
# user network) with systemd-networkd; no NTP, and apt's timers masked.
# Network: only the host's Debian mirror, for apt-get and debootstrap on the
# host; the VM that runs the second stage has no network device.
set -eu
cd "$(dirname "$0")/.."

started=$(date +%s)
phase() { printf '\n== %s (at %s min)\n' "$*" "$(awk -v s="$(($(date +%s) - started))" 'BEGIN { printf "%.1f", s / 60 }')" >&2; }
fail() {
    echo "vm-image.sh: FAILED: $*" >&2
    exit 1
}

if [ "$(id -u)" -ne 0 ]; then
    # debootstrap must create device nodes and files owned by others.
    fail "making the VM image needs root"
fi

key=$(cat "$0" scripts/private-apt.sh | sha256sum | cut -c1-16)
cache_root=${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/mt-trafmon/vm-arm64
if ! mkdir -p "$cache_root" 2>/dev/null || [ ! -w "$cache_root" ]; then
    cache_root=$PWD/target/vm-arm64
    mkdir -p "$cache_root"
fi
image=$cache_root/$key

make_image() {
    work=$cache_root/work.$$
    rm -rf "$work"
    mkdir -p "$work"
    # shellcheck source=scripts/private-apt.sh
    . scripts/private-apt.sh
    private_apt_init "$work/apt" arm64
    mirror=$private_apt_mirror
    codename=$private_apt_codename

    phase "image: Debian's arm64 kernel and busybox-static"
    (cd "$work" && apt_private download linux-image-arm64:arm64 busybox-static:arm64 >/dev/null)
    kernel_package=$(dpkg-deb -f "$work"/linux-image-arm64_*_arm64.deb Depends |
        tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*-arm64\) .*/\1/p' | head -n 1)
    [ -n "$kernel_package" ] || fail "cannot tell the kernel package of linux-image-arm64"
    (cd "$work" && apt_private download "$kernel_package:arm64" >/dev/null)
    dpkg -x "$work/$kernel_package"_*_arm64.deb "$work/kernel"
    dpkg -x "$work"/busybox-static_*_arm64.deb "$work/busybox"
    release=${kernel_package#linux-image-}
    modules=$work/kernel/lib/modules/$release
    cp "$work/kernel/boot/vmlinuz-$release" "$work/vmlinuz"

    # The initramfs: busybox, the modules in the order they load (each
    # after what it depends on, read from its modinfo "depends=" field),
    # /dev/console, and /init.
    initramfs=$work/initramfs
    mkdir -p "$initramfs/bin" "$initramfs/dev" "$initramfs/proc" "$initramfs/sys" \
        "$initramfs/root" "$initramfs/modules"
    cp "$work/busybox/bin/busybox" "$initramfs/bin/busybox"
    mknod -m 600 "$initramfs/dev/console" c 5 1
    module_file() { # a module's file, by name (- and _ are the same to the kernel)
        found=$(find "$modules/kernel" \( -name "$1.ko" -o -name "$(echo "$1" | tr _ -).ko" \
            -o -name "$(echo "$1" | tr - _).ko" \) | head -n 1)
        [ -n "$found" ] || fail "no module $1 in $kernel_package"
        echo "$found"
    }
    load() { # a module, after what it depends on (its modinfo "depends=")
        file=$(module_file "$1")
        if grep -qx "$(basename "$file" .ko)" "$initramfs/modules/order" 2>/dev/null; then
            return 0
        fi
        for dependency in $(strings "$file" | sed -n 's/^depends=//p' | tr ',' ' '); do
            load "$dependency"
        done
        file=$(module_file "$1") # again: the calls above changed it
        cp "$file" "$initramfs/modules/"
        basename "$file" .ko >>"$initramfs/modules/order"
    }
    # Disk, network and entropy as virtio PCI devices; ext4 with its
    # checksums (crc32c, which ext4 asks the crypto API for by name).
    for module in virtio_pci virtio_blk virtio_net virtio-rng crc32c_generic ext4; do
        load "$module"
    done
    cat >"$initramfs/init" <<'EOF'
#!/bin/busybox sh
# mt-trafmon's test VM: load the modules, mount the root, then either run
# debootstrap's second stage and the setup (mtt.stage2 on the kernel
# command line) and power off, or hand over to systemd.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for module in $(cat /modules/order); do
    insmod "/modules/$module.ko" || echo "init: insmod $module failed"
done
waited=0
while [ ! -b /dev/vda ] && [ "$waited" -lt 300 ]; do
    sleep 0.1
    waited=$((waited + 1))
done
mount -t ext4 -o rw /dev/vda /root || { echo "init: cannot mount /dev/vda"; poweroff -f; }
if grep -q mtt.stage2 /proc/cmdline; then
    mount -t proc proc /root/proc
    mount -t sysfs sys /root/sys
    mount -o bind /dev /root/dev
    if chroot /root /debootstrap/debootstrap --second-stage &&
        chroot /root /bin/sh /root/vm-setup.sh; then
        echo "STAGE2: OK"
    else
        tail -n 40 /root/debootstrap/debootstrap.log 2>/dev/null
        echo "STAGE2: FAILED"
    fi
    umount /root/dev /root/sys /root/proc
    umount /root
    sync
    poweroff -f
fi
umount /proc /sys
mount -o move /dev /root/dev
exec switch_root /root /sbin/init
EOF
    chmod 755 "$initramfs/init"
    (cd "$initramfs" && find . | sort | cpio --quiet -o -H newc -R 0:0) | gzip -9n >"$work/initrd.img"

    phase "image: debootstrap (first stage, on the host)"
    root=$work/root
    debootstrap --arch=arm64 --foreign --variant=minbase \
        --include=systemd,systemd-sysv,udev,dbus,adduser \
        "$codename" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
        { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap --foreign"; }

    # What the second stage cannot know: the name, the disk, the network
    # (static: QEMU's user network is 10.0.2.0/24, gateway 10.0.2.2), root
    # logged in on the serial console, and nothing that would reach out or
    # wake up on a timer during a test.
    echo mtt-vm >"$root/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 mtt-vm\n::1 localhost\n' >"$root/etc/hosts"
    echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$root/etc/fstab"
    mkdir -p "$root/etc/systemd/network" "$root/etc/systemd/system/serial-getty@ttyAMA0.service.d"
    cat >"$root/etc/systemd/network/10-vm.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF
    cat >"$root/etc/systemd/system/serial-getty@ttyAMA0.service.d/autologin.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 %I $TERM
EOF
    cat >"$root/root/vm-setup.sh" <<'EOF'
set -e
passwd -d root
systemctl enable systemd-networkd.service
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
    systemd-timesyncd.service dpkg-db-backup.timer; do
    systemctl mask "$unit"
done
apt-get clean
rm -f /root/vm-setup.sh
EOF

    phase "image: ext4 image, then the second stage inside the VM (once per machine)"
    # 4 GiB, sparse: room for the original layout's 835 MiB file, so that
    # the disk does not decide the wizard's default layout.
    mkfs.ext4 -q -F -L root -d "$root" "$work/root.img" 4G
    rm -rf "$root"
    qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024 \
        -nodefaults -display none -serial stdio -monitor none \
        -kernel "$work/vmlinuz" -initrd "$work/initrd.img" \
        -append "console=ttyAMA0 root=/dev/vda rw mtt.stage2" \
        -drive file="$work/root.img",format=raw,if=none,id=root \
        -device virtio-blk-pci,drive=root -device virtio-rng-pci \
        </dev/null >"$work/stage2.log" 2>&1 ||
        { tail -n 40 "$work/stage2.log" >&2; fail "the second stage's VM"; }
    grep -q "^STAGE2: OK" "$work/stage2.log" ||
        { tail -n 60 "$work/stage2.log" >&2; fail "the second stage (log: $work/stage2.log)"; }
    mkdir -p "$image"
    mv "$work/vmlinuz" "$work/initrd.img" "$work/root.img" "$image/"
    echo "$kernel_package $codename" >"$image/.stamp"
    rm -rf "$work"
    # Images of other versions of this script are of no further use.
    for old in "$cache_root"/*; do
        [ "$old" = "$image" ] || rm -rf "$old"
    done
}

if [ ! -f "$image/.stamp" ]; then
    sh scripts/deps.sh --packaging >&2
    make_image >&2
fi
echo "$image"
