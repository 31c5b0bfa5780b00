#!/bin/sh
# install-deps.sh: install the Debian packages the project needs (idempotent).
#
# Checks each package with dpkg-query and calls apt-get only for those that are
# missing, so a second run on a ready machine does nothing and needs no network.
# Needs root (or sudo) only when something is missing.
set -eu

PKGS="build-essential pkg-config libhdf5-dev hdf5-tools libpng-dev libcmocka-dev libssl-dev libjansson-dev
gnuplot-nox python3-numpy python3-h5py python3-pytest python3-tqdm
python3-torch python3-torchvision dataset-fashion-mnist valgrind
clang libclang-rt-14-dev libomp-14-dev python3-opencv time
openmpi-bin libopenmpi-dev libhdf5-openmpi-dev
liblapacke-dev liblapack-dev libblas-dev"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "install-deps: need root to install:$missing" >&2; exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
