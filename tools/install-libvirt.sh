#!/usr/bin/env bash
# Install and start libvirtd with QEMU (no systemd needed), and build the
# libvirt Python binding into .venv, for nova.virt.libvirt and its tests.
#
# Idempotent, and fast when everything is in place already (a few hundred
# milliseconds): packages are installed only if missing, qemu.conf is
# rewritten (and libvirtd restarted) only if it differs, the binding is
# built only if .venv cannot import it.
#
# Must run as root (it installs Debian packages and runs libvirtd as root).
# Environment:
#   NOVA_VENV            the virtualenv to install into (default: .venv,
#                        made by tools/ensure-venv.sh if missing)
#   SKIP_LIBVIRT_PYTHON  set to 1 to leave the venv alone
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${NOVA_VENV:-.venv}
URI=qemu:///system

log() { echo "install-libvirt: $*" >&2; }
if [ "$(id -u)" != 0 ]; then
    log "must run as root (it installs packages and runs libvirtd)"
    exit 1
fi

# 1. Debian packages. libvirt-daemon-system is left out on purpose: it
# brings init scripts and systemd units; we do its three jobs below.
packages=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
          qemu-system-x86 qemu-utils libvirt-dev pkg-config gcc)
missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. What libvirt-daemon-system would have done: the user QEMU runs as by
# default (libvirtd refuses to start without it) and the log directory.
if ! getent passwd libvirt-qemu >/dev/null; then
    useradd --system --no-create-home --home-dir /var/lib/libvirt \
        --shell /usr/sbin/nologin libvirt-qemu
fi
mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /run/libvirt

# 3. qemu.conf: guests run as root with no relabelling and no security
# driver (no AppArmor or SELinux here), and QEMU's output goes straight to
# files rather than through virtlogd, which we do not run.
want_conf='# Written by nova tools/install-libvirt.sh
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
stdio_handler = "file"'
restart=0
if [ "$(cat /etc/libvirt/qemu.conf 2>/dev/null)" != "$want_conf" ]; then
    [ -f /etc/libvirt/qemu.conf ] && \
        cp /etc/libvirt/qemu.conf /etc/libvirt/qemu.conf.orig-nova
    printf '%s\n' "$want_conf" > /etc/libvirt/qemu.conf
    restart=1
fi

# 4. libvirtd, daemonised, if it is not answering already.
running() { pidof libvirtd >/dev/null 2>&1; }
answering() { virsh -q -c "$URI" version >/dev/null 2>&1; }
if running && [ "$restart" = 1 ]; then
    log "qemu.conf changed: restarting libvirtd"
    kill "$(pidof libvirtd)"
    for _ in $(seq 1 50); do running || break; sleep 0.2; done
fi
if ! running; then
    log "starting libvirtd"
    libvirtd --daemon
fi
for _ in $(seq 1 150); do answering && break; sleep 0.2; done
if ! answering; then
    log "libvirtd does not answer on $URI"
    virsh -c "$URI" version || true
    exit 1
fi

# 5. The Python binding, built against this libvirt (a C extension).
if [ "${SKIP_LIBVIRT_PYTHON:-0}" != 1 ]; then
    if [ ! -x "$VENV/bin/python" ] && [ -z "${NOVA_VENV:-}" ]; then
        tools/ensure-venv.sh
    fi
    if ! "$VENV/bin/python" -c 'import libvirt' 2>/dev/null; then
        log "building libvirt-python into $VENV"
        "$VENV/bin/pip" install --quiet -r requirements-libvirt.txt
    fi
fi
log "ready: $(virsh -q -c "$URI" version --daemon | tr -s ' \n' ' ')"
