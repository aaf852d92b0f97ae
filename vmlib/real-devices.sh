# Real drivers with real traffic behind the IOMMU (launch.sh --device real:
# the 'intel' profile, make run, make bench): an NVMe disk (fio) and an
# e1000e NIC on user-mode networking (iperf3 against a server on the host,
# which the guest reaches as 10.0.2.2).  Sourced by launch.sh, not executed.
# shellcheck shell=bash

# real_devices_start DIR KERNEL: a sparse disk image in DIR and the iperf3
# server; sets real_qemu (QEMU options) and real_env (the guest's
# environment: where the kernel build's modules are, the server's port).
real_devices_start() {
	local dir=$1 kernel=$2 port
	truncate -s 256M "$dir/nvme.img"
	real_qemu="-drive file=$dir/nvme.img,if=none,id=nvm,format=raw,cache=none"
	real_qemu="$real_qemu -device nvme,serial=iommubpf,drive=nvm"
	real_qemu="$real_qemu -netdev user,id=net0 -device e1000e,netdev=net0"
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	iperf3 -s -B 127.0.0.1 -p "$port" > "$dir/iperf3-server.log" 2>&1 &
	real_iperf_pid=$!
	real_env="GUEST_MODULES=$(cd "$(dirname "$kernel")" && pwd -P)/modules/lib/modules"
	real_env="$real_env IPERF_PORT=$port"
}

real_devices_stop() {
	local dir=$1
	[ -z "${real_iperf_pid:-}" ] || kill "$real_iperf_pid" 2>/dev/null
	rm -f "$dir/nvme.img"
}
