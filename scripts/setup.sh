#!/bin/sh
# Installs the Debian packages deepobs-lua needs (Debian 12): as root in a container, or
# through sudo as a user. The one list of packages; README.md and .ci/run use it.
#   scripts/setup.sh            install what is missing (apt-get update first)
#   scripts/setup.sh --list     print the packages
#
# Chromium is only for the HTML report's browser spec, SLURM and munge only for the
# cluster specs, luarocks only for `luarocks make`.
set -eu

PACKAGES="build-essential luajit libluajit-5.1-dev libopenblas-openmp-dev zlib1g-dev libjpeg62-turbo-dev \
lua-cjson lua-busted libreadline8 luarocks dataset-fashion-mnist chromium slurmctld slurmd slurm-client munge"

if [ "${1:-}" = "--list" ]; then echo $PACKAGES; exit 0; fi
if [ $# -gt 0 ]; then echo "usage: scripts/setup.sh [--list]" >&2; exit 2; fi

missing=""
for p in $PACKAGES; do
   dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then echo "setup: every package is installed"; exit 0; fi

if [ "$(id -u)" -eq 0 ]; then
   SUDO=""
elif command -v sudo >/dev/null 2>&1; then
   SUDO="sudo"
else
   echo "setup: installing$missing needs root: run this as root, or install sudo" >&2
   exit 1
fi
echo "setup: installing$missing"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
