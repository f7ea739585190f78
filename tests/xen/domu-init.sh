#!/bin/busybox sh
# /init of the domU used by tests/xen/e2e.sh: stock Linux virtio drivers over grant DMA, checked
# with busybox tools. Every result is one "VXEN-E2E: <check> PASS|FAIL <detail>" line on hvc0
# (which xenconsoled logs in dom0); "VXEN-E2E-GUEST-DONE" ends the run.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp

say() { echo "VXEN-E2E: $*"; }
tests=$(sed -n 's/.*vxen_tests=\([^ ]*\).*/\1/p' /proc/cmdline | tr ',' ' ')

check_boot() {
	say "guest-boot PASS kernel $(uname -r)"
}

check_rng() {
	cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
	case "$cur" in virtio_rng*) ;; *) say "rng FAIL rng_current='$cur'"; return ;; esac
	dd if=/dev/hwrng of=/tmp/r bs=4096 count=1 2>/dev/null
	n=$(wc -c < /tmp/r)
	distinct=$(od -An -tx1 -v /tmp/r | tr ' ' '\n' | grep . | sort -u | wc -l)
	if [ "$n" -eq 4096 ] && [ "$distinct" -gt 200 ]; then
		say "rng PASS read $n bytes from $cur, $distinct distinct byte values"
	else
		say "rng FAIL read $n bytes, $distinct distinct byte values"
	fi
}

check_blk() {
	dev=/dev/vda
	[ -b $dev ] || { say "blk FAIL no $dev"; dmesg | grep -i virtio | tail -5; return; }
	sectors=$(cat /sys/block/vda/size)
	bytes=$((sectors * 512))
	mib=$((bytes / 1048576))
	dd if=/dev/urandom of=/tmp/pattern bs=1M count=$mib 2>/dev/null
	want=$(md5sum < /tmp/pattern | cut -d' ' -f1)
	dd if=/tmp/pattern of=$dev bs=1M conv=fsync 2>/dev/null || { say "blk FAIL write"; return; }
	echo 3 > /proc/sys/vm/drop_caches
	got=$(dd if=$dev bs=1M 2>/dev/null | md5sum | cut -d' ' -f1)
	rm -f /tmp/pattern
	if [ "$want" = "$got" ]; then
		say "blk PASS wrote and read back $mib MiB, md5 $got"
	else
		say "blk FAIL md5 mismatch want $want got $got"
	fi
	if command -v mke2fs >/dev/null && mke2fs -q $dev >/dev/null 2>&1 &&
		mount -t ext2 $dev /mnt; then
		echo hello-fs > /mnt/f && sync && umount /mnt && mount -t ext2 $dev /mnt &&
			[ "$(cat /mnt/f)" = hello-fs ] && say "blk-fs PASS ext2 made, mounted, file read back" ||
			say "blk-fs FAIL"
		umount /mnt 2>/dev/null
	fi
}

# Write the disk for as long as the guest lives: dom0 destroys it in the middle of this.
check_blkloop() {
	( while :; do dd if=/dev/urandom of=/dev/vda bs=64k count=128 conv=fsync 2>/dev/null; done ) &
	sleep 2
	say "blkloop INFO writing /dev/vda continuously"
	echo VXEN-E2E-DESTROY-ME
	wait
}

check_console() {
	port=/dev/hvc1
	[ -c $port ] || { say "console FAIL no $port"; return; }
	stty -F $port raw -echo 2>/dev/null
	# one open for both directions: input arriving while the port is closed is discarded
	exec 3<>$port
	echo "ping-from-guest" >&3
	if read -t 30 line <&3 && [ "$line" = "pong-from-dom0" ]; then
		say "console PASS sent ping-from-guest, received $line"
	else
		say "console FAIL got '$line'"
	fi
	exec 3>&-
}

check_net() {
	ip link set eth0 up 2>/dev/null || { say "net FAIL no eth0"; return; }
	ip addr add 10.99.0.2/24 dev eth0
	if ping -c 3 -W 5 10.99.0.1 >/tmp/ping 2>&1; then
		say "net-ping PASS $(tail -1 /tmp/ping)"
	else
		say "net-ping FAIL $(tail -2 /tmp/ping | tr '\n' ' ')"; return
	fi
	# 4 MiB each way over TCP; dom0 compares checksums
	dd if=/dev/urandom of=/tmp/up bs=1M count=4 2>/dev/null
	up=$(md5sum < /tmp/up | cut -d' ' -f1)
	t0=$(cut -d' ' -f1 /proc/uptime)
	timeout 120 nc 10.99.0.1 5001 < /tmp/up
	say "net-diag INFO nc exit $? after $t0..$(cut -d' ' -f1 /proc/uptime) s, $(wc -c < /tmp/up) bytes"
	say "net-up-sent INFO md5 $up"
	# diagnostics: does the guest's transmit path drain after nc handed its data over?
	for i in 1 2 3; do
		say "net-diag INFO tx_packets $(cat /sys/class/net/eth0/statistics/tx_packets)" \
			"rx_packets $(cat /sys/class/net/eth0/statistics/rx_packets)" \
			"irqs $(grep -i virtio /proc/interrupts | tr -s ' ' | tr '\n' '|')"
		sleep 5
	done
	down=$(timeout 120 nc 10.99.0.1 5002 | md5sum | cut -d' ' -f1)
	say "net-down-recv INFO md5 $down"
}

for t in boot $tests; do
	check_$t
done
echo VXEN-E2E-GUEST-DONE
sync
poweroff -f
