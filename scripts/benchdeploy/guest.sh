#!/bin/sh
# The guest's side of `scripts/bench-deploy --vm`: run as /mnt/test/run by
# the systemd VM's rackboot-vmtest service. The same rows as on the host,
# against /dev/vdc, made blank (blkdiscard) and the page cache dropped
# before each; one "ROW name seconds verify" line per run, timed with the
# guest's clock. /mnt/test/env sets size, sum and rounds.
set -e
. /mnt/test/env
t=/dev/vdc
now() { date +%s.%N; }
since() { echo "$(now) $1" | awk '{ printf "%.3f", $1 - $2 }'; }
fresh() { blkdiscard "$t"; sync; echo 3 >/proc/sys/vm/drop_caches; }
for r in $(seq "$rounds"); do
	fresh; s=$(now)
	dd if=/mnt/test/image.raw of="$t" bs=4M conv=fsync 2>/dev/null
	echo "ROW dd#$r $(since "$s") -"
	fresh; s=$(now)
	dd if=/mnt/test/image.raw of="$t" bs=4M conv=sparse,fsync 2>/dev/null
	echo "ROW dd-sparse#$r $(since "$s") -"
	for c in none gzip; do
		f=/mnt/test/image.raw
		[ "$c" = gzip ] && f=$f.gz
		fresh
		j=$(/mnt/test/benchdeploy -image "$f" -compression "$c" -size "$size" -sha256 "$sum" -dev "$t")
		w=$(echo "$j" | sed 's/.*"write_s":\([0-9.e+-]*\).*/\1/')
		v=$(echo "$j" | sed 's/.*"verify_s":\([0-9.e+-]*\).*/\1/' | awk '{ printf "%.2f", $1 }')
		echo "ROW installer-$c#$r $w $v"
	done
done
