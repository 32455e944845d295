# Functions of the test image's /init, kept apart so a test can source them
# with a host busybox sh. POSIX sh plus busybox applets only.

# AGENT_BIN is where the agent binary is (or is downloaded to).
AGENT_BIN=${AGENT_BIN:-/usr/bin/rackboot}

say() { echo "rackboot-testimage: $*"; }

# firmware prints uefi when the kernel was started by UEFI firmware, else bios.
firmware() {
	if [ -d /sys/firmware/efi ]; then echo uefi; else echo bios; fi
}

# load_modules inserts the modules listed in DIR/rackboot.load, one path
# relative to DIR a line, dependencies first (the build resolved them).
load_modules() {
	local dir=$1 rel
	[ -f "$dir/rackboot.load" ] || return 0
	while read -r rel; do
		[ -n "$rel" ] || continue
		insmod "$dir/$rel" 2>/dev/null
	done <"$dir/rackboot.load"
}

# find_seed prints the device of the seed partition: the filesystem labelled
# CIDATA (or cidata), else the first partition with a meta-data file.
find_seed() {
	local i dev d n
	for i in $(seq 1 50); do
		dev=$(findfs LABEL=CIDATA 2>/dev/null || findfs LABEL=cidata 2>/dev/null) && {
			echo "$dev"
			return 0
		}
		sleep 0.1
	done
	mkdir -p /mnt/seed
	for d in /sys/class/block/*; do
		[ -e "$d/partition" ] || continue
		n=${d##*/}
		mount -o ro "/dev/$n" /mnt/seed 2>/dev/null || continue
		if [ -f /mnt/seed/meta-data ]; then
			umount /mnt/seed
			echo "/dev/$n"
			return 0
		fi
		umount /mnt/seed
	done
	return 1
}

# seed_get FILE SECTION KEY prints the value of KEY: a top-level
# "KEY: value" line when SECTION is empty, else an indented "KEY: value"
# line inside the top-level "SECTION:" mapping. Comments, blank lines and
# other keys are skipped; one pair of surrounding quotes is removed.
seed_get() {
	[ -f "$1" ] || return 0
	awk -v sec="$2" -v key="$3" '
	function strip(v) {
		sub(/^[ \t]+/, "", v); sub(/[ \t\r]+$/, "", v)
		if (v ~ /^".*"$/ || v ~ /^\047.*\047$/) v = substr(v, 2, length(v) - 2)
		return v
	}
	function pair(line,   k) {
		sub(/^[ \t]+/, "", line)
		k = line; sub(/:.*/, "", k)
		if (k != key || index(line, ":") == 0) return 0
		val = line; sub(/^[^:]*:/, "", val); val = strip(val)
		return 1
	}
	/^[ \t]*#/ || /^[ \t\r]*$/ { next }
	/^[^ \t]/ {
		cur = $0; sub(/:.*/, "", cur)
		if (sec == "" && pair($0)) { print val; exit }
		next
	}
	sec != "" && cur == sec && pair($0) { print val; exit }
	' "$1"
}

# seed_value FILE KEY prints the value of the first "KEY=value" line of
# FILE (the seed's rackboot.seed): everything after the first "=", as is.
seed_value() {
	[ -f "$1" ] || return 0
	sed -n "s/^$2=//p" "$1" | head -n 1
}

# apply_seed DIR reads DIR/rackboot.seed (and DIR/meta-data for the
# hostname when it has none): sets the hostname, installs SSH keys for
# root, and sets SEED_URL, SEED_TOKEN, SEED_MAC, SEED_AGENT.
apply_seed() {
	local dir=$1 h keys
	SEED_URL=$(seed_value "$dir/rackboot.seed" url)
	SEED_URL=${SEED_URL%/}
	SEED_TOKEN=$(seed_value "$dir/rackboot.seed" token)
	SEED_MAC=$(seed_value "$dir/rackboot.seed" mac | tr 'A-F' 'a-f')
	SEED_AGENT=$(seed_value "$dir/rackboot.seed" agent)
	h=$(seed_value "$dir/rackboot.seed" hostname)
	[ -n "$h" ] || h=$(seed_get "$dir/meta-data" "" local-hostname)
	if [ -n "$h" ]; then
		hostname "$h"
		say "hostname $h"
	fi
	keys=$(sed -n 's/^ssh_key=//p' "$dir/rackboot.seed" 2>/dev/null)
	if [ -n "$keys" ]; then
		mkdir -p /root/.ssh
		echo "$keys" >/root/.ssh/authorized_keys
		chmod 0700 /root/.ssh
		chmod 0600 /root/.ssh/authorized_keys
		say "ssh keys $(echo "$keys" | wc -l)"
	fi
	[ -z "$SEED_URL" ] || say "appliance $SEED_URL"
}

# net_up [MAC] brings up the interface with MAC (else each one in turn) with
# DHCP. Sets NET_IFS (the interfaces tried), NET_IF, NET_MAC, NET_ADDR.
net_up() {
	local want=$1 d ifs="" i tries
	ip link set lo up 2>/dev/null
	for tries in $(seq 1 30); do
		for d in /sys/class/net/*; do
			i=${d##*/}
			[ "$i" = lo ] || [ ! -e "$d/device" ] && continue
			if [ -n "$want" ] && [ "$(cat "$d/address")" = "$want" ]; then
				ifs=$i
				break
			fi
			ifs="$ifs $i"
		done
		[ -n "$ifs" ] && break
		sleep 0.1
	done
	NET_IFS=$ifs
	for i in $ifs; do
		ip link set "$i" up
		if udhcpc -i "$i" -n -q -t 5 -T 2 -A 2 -s /lib/rackboot/udhcpc.script >/dev/null 2>&1; then
			NET_IF=$i
			NET_MAC=$(cat "/sys/class/net/$i/address")
			NET_ADDR=$(ip -4 -o addr show dev "$i" | awk '{print $4; exit}')
			return 0
		fi
	done
	return 1
}

# firstboot_body MAC FIRMWARE prints the JSON body of the first-boot report.
firstboot_body() {
	printf '{"mac":"%s","event":"first-boot","firmware":"%s"}' "$1" "$2"
}

# post_firstboot URL TOKEN MAC FIRMWARE [TRIES] POSTs the first-boot report
# to URL/machine/v1/firstboot until the appliance answers 2xx, waiting
# 1, 2, 4, 8, then 10 s between tries. TRIES 0 (the default) means forever.
post_firstboot() {
	local url=$1 token=$2 mac=$3 fw=$4 tries=${5:-0} n=0 wait=1 out
	while :; do
		n=$((n + 1))
		# Not wget -T: Debian's busybox 1.35 wget segfaults with it.
		if out=$(timeout 20 wget -q -O - \
			--header "Authorization: Bearer $token" \
			--header "Content-Type: application/json" \
			--post-data "$(firstboot_body "$mac" "$fw")" \
			"$url/machine/v1/firstboot?mac=$mac" 2>&1); then
			say "first-boot reported to $url (try $n)"
			return 0
		fi
		say "first-boot report to $url failed (try $n): $out"
		[ "$tries" -gt 0 ] && [ "$n" -ge "$tries" ] && return 1
		sleep "$wait"
		wait=$((wait * 2))
		[ "$wait" -le 10 ] || wait=10
	done
}

# run_seed_actions reports the first boot and starts the agent, as the seed
# asks: the agent runs when the seed names an agent URL (downloaded to
# $AGENT_BIN) or the image carries $AGENT_BIN (/usr/bin/rackboot). With an
# agent, the first-boot report is tried 3 times, then the agent starts (and
# is restarted whenever it exits); without one, the report is retried until
# the appliance takes it.
run_seed_actions() {
	local mac=${NET_MAC:-$SEED_MAC} agent=""
	if [ -z "$SEED_URL" ]; then
		say "seed has no rackboot url: nothing to report"
		return 0
	fi
	if [ -z "$NET_IF" ]; then
		say "no network: cannot reach $SEED_URL"
		return 1
	fi
	if [ -n "$SEED_AGENT" ]; then
		# The token goes along: the appliance's /machine/v1/agent/binary?mac=…
		# wants it.
		if timeout 300 wget -q -O "$AGENT_BIN.part" \
			--header "Authorization: Bearer $SEED_TOKEN" "$SEED_AGENT"; then
			mv "$AGENT_BIN.part" "$AGENT_BIN"
			chmod 0755 "$AGENT_BIN"
			say "agent downloaded from $SEED_AGENT"
		else
			say "agent download from $SEED_AGENT failed"
		fi
	fi
	[ -x "$AGENT_BIN" ] && agent=1
	if [ -n "$agent" ]; then
		post_firstboot "$SEED_URL" "$SEED_TOKEN" "$mac" "$FIRMWARE" 3
		(
			while :; do
				say "starting rackboot agent --server $SEED_URL"
				"$AGENT_BIN" agent --server "$SEED_URL" --token "$SEED_TOKEN"
				say "agent exited ($?); restarting in 5 s"
				sleep 5
			done
		) &
	else
		post_firstboot "$SEED_URL" "$SEED_TOKEN" "$mac" "$FIRMWARE"
	fi
}
