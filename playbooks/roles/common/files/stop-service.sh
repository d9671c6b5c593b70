#!/bin/sh
# Stop a service that start-stop-daemon started through setsid: it leads its own process group,
# so TERM goes to the whole group, as systemd's control group would. `locust --worker
# --processes N` needs this: its parent dies on TERM without passing it on, and the workers it
# forked would stay connected to the master.
# Usage: stop-service.sh PIDFILE [GRACE_SECONDS]. Exit 0: stopped; 1: it was not running;
# 2: it could not be stopped.
set -u
pidfile=$1
grace=${2:-15}
[ -s "$pidfile" ] || exit 1
group=$(cat "$pidfile")
alive() { kill -0 "-$group" 2>/dev/null; }
if ! alive; then
    rm -f "$pidfile"
    exit 1
fi
kill -TERM "-$group" 2>/dev/null
ticks=$((grace * 10))
while alive && [ "$ticks" -gt 0 ]; do
    sleep 0.1
    ticks=$((ticks - 1))
done
if alive; then
    kill -KILL "-$group" 2>/dev/null
    ticks=50
    while alive && [ "$ticks" -gt 0 ]; do
        sleep 0.1
        ticks=$((ticks - 1))
    done
fi
rm -f "$pidfile"
if alive; then
    echo "stop-service.sh: process group $group outlived SIGKILL" >&2
    exit 2
fi
