#!/bin/bash
# guest.sh: what TestDebianPackageInSystemdVM runs in the Debian 12 VM, as
# /mnt/test/run, at every boot (rackboot-vmtest.service). The first boot
# installs the old package, checks the service, restores an inventory
# with hosts and leases and reboots; the second checks the service came
# back, upgrades to the new package, writes a backup to /dev/vdc for the
# test to read, removes the package (conffile, user and data stay),
# reinstalls it and finds the hosts again, and purges. Every check prints "CHECK ok <what>" or
# "CHECK FAIL <what>"; the test reads them from the serial console.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
T=/mnt/test
phase=/var/lib/rackboot-vmtest-phase
fails=0
ok() { echo "CHECK ok $*"; }
fail() {
	echo "CHECK FAIL $*"
	fails=$((fails + 1))
	systemctl status --no-pager rackboot 2>&1 | head -20
	journalctl -u rackboot --no-pager 2>&1 | tail -20
}
check() { # WHAT COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
healthz() { # the API answers over HTTPS, trusted as the CLI trusts it on the appliance (the VM has no curl)
	rackboot host list >/dev/null 2>&1
}
listening() { # anything accepts a connection on 8080
	(exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null
}
wait_healthz() {
	for _ in $(seq 240); do healthz && return 0; sleep 0.5; done
	return 1
}
main_pid_user() { stat -c %U "/proc/$(systemctl show -p MainPID --value rackboot)"; }
cap_amb() { grep CapAmb "/proc/$(systemctl show -p MainPID --value rackboot)/status" | awk '{print $2}'; }

if [ ! -e "$phase" ]; then
	echo "== phase 1: install $(ls $T/old/)"
	# ipxe (a dependency) from Debian's package: the VM has no network.
	check "apt install old" apt-get install -y --no-install-recommends "$T"/ipxe_*.deb "$T"/old/rackboot_*_amd64.deb
	check "unit enabled" systemctl is-enabled --quiet rackboot
	check "recommends the signed chain" sh -c "dpkg-query -W -f='\${Recommends}' rackboot | grep -q 'shim-signed, grub-efi-amd64-signed'"
	check "service answers /healthz" wait_healthz
	check "runs as user rackboot" test "$(main_pid_user)" = rackboot
	# CAP_NET_BIND_SERVICE (bit 10) and CAP_NET_RAW (bit 13) only.
	check "ambient capabilities are NET_BIND_SERVICE and NET_RAW" test "$(cap_amb)" = 0000000000002400
	check "data dir 0700 rackboot" test "$(stat -c '%a %U' /var/lib/rackboot)" = "700 rackboot"
	check "conffile" grep -q '^data-dir: /var/lib/rackboot' /etc/rackboot/rackboot.yaml
	check "man page" test -s /usr/share/man/man1/rackboot-serve.1.gz
	check "bash completion" grep -q rackboot /usr/share/bash-completion/completions/rackboot
	check "CLI with the admin token: host add" rackboot host add 52:54:00:aa:bb:01 --hostname vm-one
	check "CLI: host list" sh -c 'rackboot host list | grep -q vm-one'
	check "systemctl reload" systemctl reload rackboot
	sleep 1
	check "reload reread the templates" sh -c 'journalctl -u rackboot --no-pager | grep -q "templates reloaded"'
	check "journal has the service log" sh -c 'journalctl -u rackboot --no-pager | grep -q "rackboot serving"'
	# An inventory with hosts and leases, from a backup the test made.
	check "restore refuses the running service" sh -c "rackboot restore $T/inventory.backup --force 2>&1 | grep -q 'stop it first'"
	systemctl stop rackboot
	check "restore into the stopped data dir" rackboot restore "$T/inventory.backup" --force
	check "restored files are rackboot's" test "$(stat -c %U /var/lib/rackboot/rackboot.db /var/lib/rackboot/secret.key | sort -u)" = rackboot
	systemctl start rackboot
	check "service answers after the restore" wait_healthz
	check "restored hosts listed" sh -c 'rackboot host list | grep -q restored-0'
	# The restore replaced the inventory vm-one was in; vm-two is added to
	# the restored one and must outlive the reboot and the upgrade.
	check "CLI: host add after the restore" rackboot host add 52:54:00:aa:bb:02 --hostname vm-two
	check "restart on failure" sh -c 'kill -9 $(systemctl show -p MainPID --value rackboot); sleep 4; systemctl is-active --quiet rackboot'
	check "service answers after the kill" wait_healthz
	echo 2 >"$phase"
	sync
	echo "== rebooting ($fails failed so far)"
	echo "$fails" >"$phase.fails"
	sync
	systemctl reboot
	sleep infinity
fi

echo "== phase 2: after the reboot"
fails=$(cat "$phase.fails" 2>/dev/null || echo 0)
check "service came back after the reboot" wait_healthz
check "hosts kept over the reboot" sh -c 'rackboot host list | grep -q restored-0'
old=$(rackboot version)
check "apt install new (upgrade)" apt-get install -y --no-install-recommends "$T"/new/rackboot_*_amd64.deb
check "upgraded binary runs" sh -c 'rackboot version | grep -q "'"$(ls $T/new/ | sed 's/rackboot_\(.*\)_amd64.deb/\1/')"'"'
check "service answers after the upgrade" wait_healthz
check "hosts kept over the upgrade" sh -c 'rackboot host list | grep -q restored-0 && rackboot host list | grep -q vm-two'
# The test checks every host and lease in this backup.
if rackboot backup /tmp/after-upgrade.backup; then
	size=$(stat -c %s /tmp/after-upgrade.backup)
	{ printf '%020d' "$size"; cat /tmp/after-upgrade.backup; } | dd of=/dev/vdc bs=1M conv=fsync status=none && ok "backup written to vdc ($size bytes)"
else
	fail "backup after the upgrade"
fi
echo "== was: $old"
# remove (not purge): Debian keeps conffiles and data (see postrm).
check "apt remove" apt-get remove -y rackboot
check "service stopped (remove)" sh -c '! systemctl is-active --quiet rackboot'
check "unit gone (remove)" sh -c '! systemctl cat rackboot >/dev/null 2>&1'
check "binary gone (remove)" test ! -e /usr/bin/rackboot
if listening; then fail "nothing answers on 8080 (remove)"; else ok "nothing answers on 8080 (remove)"; fi
check "conffile kept (remove)" grep -q '^data-dir: /var/lib/rackboot' /etc/rackboot/rackboot.yaml
check "user kept (remove)" getent passwd rackboot
check "data kept (remove)" test -s /var/lib/rackboot/rackboot.db -a -s /var/lib/rackboot/secret.key
check "dpkg knows it removed, not purged" sh -c 'dpkg-query -W -f="\${db:Status-Abbrev}" rackboot | grep -q "^rc"'
check "apt install after remove" apt-get install -y --no-install-recommends "$T"/new/rackboot_*_amd64.deb
check "service answers after the reinstall" wait_healthz
check "hosts kept over remove and reinstall" sh -c 'rackboot host list | grep -q restored-0 && rackboot host list | grep -q vm-two'
check "apt purge" apt-get purge -y rackboot
check "service gone" sh -c '! systemctl cat rackboot >/dev/null 2>&1'
check "binary gone" test ! -e /usr/bin/rackboot
check "user gone" sh -c '! getent passwd rackboot'
check "group gone" sh -c '! getent group rackboot'
check "data gone (purge)" test ! -e /var/lib/rackboot
check "conffile gone (purge)" test ! -e /etc/rackboot/rackboot.yaml
if listening; then fail "nothing answers on 8080"; else ok "nothing answers on 8080"; fi
rm -f "$phase" "$phase.fails"
echo "== done, $fails failed"
[ "$fails" -eq 0 ]
