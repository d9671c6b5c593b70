#!/bin/sh
# Stop, and keep from starting at boot, the services of Debian packages that `make` has just
# installed for their programs only: prometheus, prometheus-node-exporter and openssh-server
# start on every address when installed on a systemd machine, and swarmbench runs its own
# instances (on loopback, or inside the test hosts). Packages that were there before `make`
# are never passed here, so a machine's own sshd is left alone.
#
# Usage: quiet-services.sh PACKAGE...   (the packages just installed; others are ignored)
# KEEP_SERVICES=1 leaves them running, for those who want Debian's services.
set -u
if [ "${KEEP_SERVICES:-0}" = 1 ]; then
    exit 0
fi
for package in "$@"; do
    case $package in
        prometheus) units="prometheus" ;;
        prometheus-node-exporter) units="prometheus-node-exporter" ;;
        openssh-server) units="ssh.socket ssh" ;;
        *) continue ;;
    esac
    for unit in $units; do
        if [ -d /run/systemd/system ]; then
            systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl is-active --quiet "$unit" || continue
            systemctl disable --now --quiet "$unit" || exit 1
        elif [ -x "/etc/init.d/$unit" ]; then
            service "$unit" stop >/dev/null 2>&1 || true
            update-rc.d "$unit" disable >/dev/null 2>&1 || true
        else
            continue
        fi
        echo "swarmbench: stopped and disabled $unit, installed by make for its program only (make KEEP_SERVICES=1 keeps it)"
    done
done
