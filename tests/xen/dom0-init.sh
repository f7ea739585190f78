#!/bin/sh
# /init of dom0 for tests/xen/e2e.sh: bring up the Xen tools, start the example backends in
# discovery mode, create each test guest paused, unpause it, collect its verdict lines and print
# them on the serial console, then power off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.20/bin
/usr/bin/busybox mount -t proc proc /proc
/usr/bin/busybox --install -s /usr/bin 2>/dev/null
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /var/run/xenstored /var/lib/xenstored /run/xen
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm
ldconfig 2>/dev/null

say() { echo "VXEN-E2E: $*" | tee -a /tmp/results; }
t0=$(cut -d' ' -f1 /proc/uptime)
elapsed() { awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }'; }

for m in xen-evtchn xen-privcmd xen-gntdev xen-gntalloc xenfs tun; do
	insmod /usr/lib/modules/*/"$m".ko* 2>/dev/null || modprobe "$m" 2>/dev/null
done
mount -t xenfs xenfs /proc/xen

xenstored --pid-file=/run/xen/xenstored.pid
xen-init-dom0 >/tmp/init-dom0.log 2>&1
xenconsoled --log=guest --log-dir=/var/log/xen
say "dom0-up PASS tools started at $(elapsed) s"
: > /tmp/killed

# run_guest NAME CFG TIMEOUT: create paused, unpause, wait for the guest's verdict
run_guest() {
	name=$1 cfg=$2 limit=$3
	log=/var/log/xen/guest-$name.log
	if ! xl create -p "$cfg" >/tmp/xl-$name.log 2>&1; then
		say "$name-create FAIL $(tail -3 /tmp/xl-$name.log | tr '\n' ' ')"
		return 1
	fi
	domid=$(xl domid "$name")
	# what the toolstack published, for the record (and for debugging a discovery failure)
	xenstore-ls -f /local/domain/0/backend 2>/dev/null | grep "/$domid/" | sed 's/^/  xs: /'
	xenstore-ls -f "/local/domain/$domid/device" 2>/dev/null | sed 's/^/  xs: /'
	# the daemon (discovery mode) must have picked the device up before the guest runs
	for kind in virtio virtio_disk; do
		for dev in $(xenstore-list "/local/domain/0/backend/$kind/$domid" 2>/dev/null); do
			st=/local/domain/0/backend/$kind/$domid/$dev/state
			i=0
			while [ "$(xenstore-read "$st" 2>/dev/null)" != 2 ] && [ $i -lt 100 ]; do
				sleep 0.1; i=$((i + 1))
			done
			[ $i -lt 100 ] || say "$name-initwait FAIL $st is $(xenstore-read "$st" 2>/dev/null)"
		done
	done
	command -v "prepare_$name" >/dev/null && "prepare_$name" "$domid"
	xl unpause "$name"
	i=0
	while [ $i -lt "$limit" ]; do
		grep -q VXEN-E2E-GUEST-DONE "$log" 2>/dev/null && break
		# a guest that asks for it is destroyed in the middle of its I/O
		if grep -q VXEN-E2E-DESTROY-ME "$log" 2>/dev/null; then
			sleep 3
			say "$name-midio INFO destroying the guest during its disk I/O"
			echo ": d$domid-" >> /tmp/killed
			break
		fi
		sleep 1; i=$((i + 1))
	done
	grep -a 'VXEN-E2E:' "$log" 2>/dev/null | sed "s/^.*VXEN-E2E: /VXEN-E2E: $name: /" |
		tr -d '\r' | tee -a /tmp/results
	if [ $i -ge "$limit" ]; then
		say "$name FAIL guest timed out after ${limit}s"; tail -20 "$log"
	fi
	command -v "verify_$name" >/dev/null && "verify_$name" "$domid"
	xl destroy "$name" 2>/dev/null
	sleep 2
	# the daemons keep running; none may keep a grant mapping of the dead guest
	left=0
	for p in /run/vxen-*.pid; do
		[ -f "$p" ] || continue
		kill -0 "$(cat "$p")" 2>/dev/null || { say "$name-daemons FAIL ${p##*/} died"; continue; }
		left=$((left + $(grep -c '/dev/xen/gntdev' "/proc/$(cat "$p")/maps")))
	done
	[ $left -eq 0 ] && say "$name-gntdev PASS daemons alive, no grant mappings left" ||
		say "$name-gntdev FAIL $left grant mappings left after destroy"
	say "$name-time INFO $(elapsed) s since dom0 up"
}

# The example daemons run in discovery mode for the whole session, as a user would deploy them.
for d in /usr/sbin/virtio-xen-*; do
	[ -x "$d" ] || continue
	n=${d##*/virtio-xen-}
	case $n in
	console) opts="--pty-link /run/vxen-console-{domid}.{devid}" ;;
	*) opts= ;;
	esac
	# shellcheck disable=SC2086
	"$d" -v $opts >/var/log/vxen-$n.log 2>&1 &
	echo $! >/run/vxen-$n.pid
done
sleep 1

# dom0's side of each device check
prepare_net() {
	tap=vxen$1.0
	ip addr add 10.99.0.1/24 dev "$tap" && ip link set "$tap" up ||
		say "net-tap FAIL cannot configure $tap"
	dd if=/dev/urandom of=/tmp/net-down.bin bs=1M count=4 2>/dev/null
	# busybox nc half-closes the connection when its stdin ends, and the guest's nc exits as
	# soon as it reads that EOF, dropping what it has not written yet: the receiving side's
	# stdin must stay open and silent (a background job's stdin is /dev/null otherwise).
	(sleep 125 | timeout 120 nc -l -p 5001 > /tmp/net-up.bin) &
	(timeout 120 nc -l -p 5002 < /tmp/net-down.bin) &
}
verify_net() {
	glog=/var/log/xen/guest-net.log
	sent=$(sed -n 's/.*net-up-sent INFO md5 \([0-9a-f]*\).*/\1/p' "$glog" | head -1)
	got=$(sed -n 's/.*net-down-recv INFO md5 \([0-9a-f]*\).*/\1/p' "$glog" | head -1)
	up=$(md5sum < /tmp/net-up.bin | cut -d' ' -f1)
	down=$(md5sum < /tmp/net-down.bin | cut -d' ' -f1)
	if [ "$sent" != "$up" ]; then
		ip -s link show "vxen$1.0" | sed 's/^/  diag: /'
		grep -E '^(Ip|Tcp):' /proc/net/snmp | sed 's/^/  diag: /'
		dmesg | grep -iE 'tun|csum|gso|vxen' | tail -10 | sed 's/^/  diag: /'
		kill -USR1 "$(cat /run/vxen-net.pid)"; sleep 1
	fi
	[ -n "$sent" ] && [ "$sent" = "$up" ] && say "net-up PASS 4 MiB guest->dom0 over TCP, md5 $up" ||
		say "net-up FAIL guest sent md5 '$sent', dom0 got $up ($(wc -c < /tmp/net-up.bin) bytes)"
	[ -n "$got" ] && [ "$got" = "$down" ] && say "net-down PASS 4 MiB dom0->guest over TCP, md5 $down" ||
		say "net-down FAIL dom0 sent md5 $down, guest got '$got'"
}
prepare_console() {
	pty=/run/vxen-console-$1.0
	[ -e "$pty" ] || { say "console-pty FAIL no $pty"; return; }
	stty -F "$pty" raw -echo
	(read -r line < "$pty"; echo "$line" > /tmp/console-got; echo pong-from-dom0 > "$pty") &
}
verify_console() {
	got=$(tr -d '\r' < /tmp/console-got 2>/dev/null)
	[ "$got" = ping-from-guest ] && say "console-dom0 PASS received '$got' on the pty" ||
		say "console-dom0 FAIL received '$got' on the pty"
}
prepare_blk() { :; }

dd if=/dev/zero of=/tmp/vxen-disk.img bs=1M count=16 2>/dev/null
run_guest boot /guest/guest-boot.cfg 60
only=$(cat /guest/only 2>/dev/null)
# blkkill is destroyed during disk I/O; blk2 then checks the blk daemon serves the next guest
for t in ${only:-rng net console blk blkkill blk2}; do
	d=${t%kill}
	[ -x "/usr/sbin/virtio-xen-${d%2}" ] && run_guest $t /guest/guest-$t.cfg 180
done

for f in /var/log/vxen-*.log; do
	[ -f "$f" ] || continue
	n=${f##*/vxen-}; n=${n%.log}
	kill "$(cat /run/vxen-$n.pid)" 2>/dev/null
	sleep 1
	# a daemon whose device type this run did not exercise has nothing to judge
	case " ${only:-rng net console blk} " in *" $n"*) ;; *) continue ;; esac
	# grant mode: every ring address the guest gave has bit 63 set (1<<63 | gref<<12 | off)
	grants=$(grep -c 'enabled: .* desc 0x8[0-9a-f]\{15\} ' "$f")
	plain=$(grep 'enabled: ' "$f" | grep -vc 'desc 0x8[0-9a-f]\{15\} ')
	# (a guest destroyed mid-I/O may leave chains whose grants are already gone: not counted)
	rejected=$(grep -v -F -f /tmp/killed "$f" 2>/dev/null || cat "$f")
	rejected=$(echo "$rejected" | sed -n 's/.* \([0-9]*\) rejected chains.*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }')
	if grep -qE 'virtio-xen: (error|crit|alert|emerg):' "$f" || [ "$rejected" -ne 0 ] || [ "$plain" -ne 0 ] ||
		[ "$grants" -eq 0 ]; then
		say "daemon-$n FAIL queues with grant addresses $grants, without $plain, rejected chains $rejected"
	else
		say "daemon-$n PASS $grants queues set up with grant (bit-63) addresses, 0 rejected chains, no errors"
	fi
	# what the requests cost on real Xen: the library's own counts at each device's removal
	grep -h 'removed after' "$f" | sed 's/.*: removed after/removed after/' |
		while read -r line; do say "daemon-$n crossings INFO $line"; done
	sed "s/^/[$n] /" "$f" | tail -15
done

if grep -q ' FAIL' /tmp/results || ! grep -q ' PASS' /tmp/results; then
	echo "VXEN-E2E: ALL FAIL ($(grep -c ' FAIL' /tmp/results) failed checks)"
else
	echo "VXEN-E2E: ALL PASS ($(grep -c ' PASS' /tmp/results) checks)"
fi
sync
poweroff -f
