#!/usr/bin/env bash
# Install everything icmpwall's build, tests, demo and benchmarks use, on Debian 12.
# Idempotent: when every package is already installed it does nothing but say so.
set -euo pipefail

PKGS=(
	# build
	make gcc clang llvm pkg-config libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev
	linux-libc-dev libc6-dev libclang-rt-14-dev libmicrohttpd-dev
	# tests and demo
	iproute2 iputils-ping hping3 python3 python3-scapy python3-prometheus-client
	jq tmux curl procps util-linux ethtool nmap gdb
	# benchmarks
	nftables iptables xdp-tools
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PKGS[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages (${missing[*]}); run as root to install them" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
