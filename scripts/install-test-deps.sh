#!/bin/sh
# Installs the XMPP servers mixgate's real-server tests run against:
# Prosody 0.12 and ejabberd 23.01 (Debian 12 packages), plus prosody-modules
# and the Lua libraries Prosody wants. Run as root; safe to run again.
#
# The tests start their own throwaway instances on loopback, so the system
# services must not run: they would take ports 5222/5269/5280 and 4369
# (epmd). Service start is blocked during the install, and on a machine
# where systemd is PID 1 the services are stopped and disabled afterwards.
set -eu

PACKAGES="prosody ejabberd prosody-modules lua-unbound lua-dbi-sqlite3 e2fsprogs util-linux mount"
POLICY=/usr/sbin/policy-rc.d

say() { printf 'install-test-deps: %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
    say "must run as root (try: sudo $0)" >&2
    exit 1
fi

# mkfs.ext4, e2fsck, losetup and mount: the store-failure tests put the
# store on a tmpfs and on an ext4 loop image.
if command -v prosody >/dev/null 2>&1 && command -v ejabberdctl >/dev/null 2>&1 \
    && dpkg -s prosody-modules >/dev/null 2>&1 \
    && command -v mkfs.ext4 >/dev/null 2>&1 && command -v e2fsck >/dev/null 2>&1 \
    && command -v losetup >/dev/null 2>&1 && command -v mount >/dev/null 2>&1; then
    say "prosody, ejabberd, prosody-modules and the file-system tools are already installed; nothing to do"
    exit 0
fi

# policy-rc.d exiting 101 tells invoke-rc.d not to start services. Keep an
# existing one (a container's, say) and remove ours when done.
created_policy=no
cleanup() {
    if [ "$created_policy" = yes ]; then
        rm -f "$POLICY"
        say "removed the temporary $POLICY"
    fi
}
trap cleanup EXIT INT TERM
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# temporary, from install-test-deps.sh: do not start services\nexit 101\n' > "$POLICY"
    chmod 0755 "$POLICY"
    created_policy=yes
    say "wrote a temporary $POLICY so the install starts no services"
else
    say "keeping the existing $POLICY"
fi

say "apt-get update"
apt-get update
say "installing: $PACKAGES"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $PACKAGES

if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    say "systemd is PID 1: stopping and disabling the prosody and ejabberd services"
    systemctl disable --now prosody ejabberd || true
    # The Debian package may have started epmd through its socket unit.
    systemctl stop epmd.socket epmd.service 2>/dev/null || true
else
    say "systemd is not PID 1: no services to stop"
fi

say "done: prosody $(dpkg-query -W -f '${Version}' prosody), ejabberd $(dpkg-query -W -f '${Version}' ejabberd)"
