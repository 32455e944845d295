package installer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/rackboot/rackboot/machineapi"
	"golang.org/x/sys/unix"
)

// A quick wipe zeroes what makes old data findable, not the data itself:
// the first and last WipeDiskEdge bytes of the disk (MBR, both GPT copies,
// and any signature a whole-disk filesystem or RAID member keeps there)
// and the first and last WipePartEdge bytes of each partition the old
// table listed (filesystem superblocks, LVM and md labels at either end),
// so a later table that puts a partition at the same offset finds nothing.
const (
	WipeDiskEdge = 2 << 20
	WipePartEdge = 1 << 20
)

// QuickWipe wipes the disk (or image file) at path as described above,
// syncs it and, for a block device, asks the kernel to forget its
// partitions. It refuses a disk in use (mounted, or a partition open).
func QuickWipe(path string) (machineapi.WipedDisk, error) {
	res := machineapi.WipedDisk{Disk: path}
	var parts [][2]int64 // start, size in bytes
	if d, err := diskfs.Open(path, diskfs.WithOpenMode(diskfs.ReadOnly)); err == nil {
		if t, err := d.GetPartitionTable(); err == nil {
			res.Table = t.Type()
			for _, p := range t.GetPartitions() {
				if p.GetSize() > 0 {
					parts = append(parts, [2]int64{p.GetStart(), p.GetSize()})
				}
			}
		}
		d.Close()
	}
	res.Partitions = len(parts)

	f, blockDev, err := openTarget(path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd) // a file's size, and a block device's
	if err != nil {
		return res, fmt.Errorf("%s: size: %w", path, err)
	}
	res.Size = size
	for _, r := range wipeRanges(size, parts) {
		if err := zeroRange(f, blockDev, r[0], r[1]); err != nil {
			return res, fmt.Errorf("%s: zero %d bytes at %d: %w", path, r[1], r[0], err)
		}
		res.Zeroed += r[1]
	}
	if err := f.Sync(); err != nil {
		return res, fmt.Errorf("%s: sync: %w", path, err)
	}
	if blockDev {
		// The kernel still lists the old partitions until told; a busy
		// disk refuses, which the O_EXCL open has ruled out.
		unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.BLKRRPART, 0)
	}
	return res, nil
}

// wipeRanges lists the ranges to zero on a disk of size bytes with these
// partitions, clipped to the disk, sorted and merged.
func wipeRanges(size int64, parts [][2]int64) [][2]int64 {
	var rs [][2]int64
	add := func(start, n int64) {
		start, end := max(start, 0), min(start+n, size)
		if end > start {
			rs = append(rs, [2]int64{start, end - start})
		}
	}
	edge := func(start, n, e int64) {
		e = min(e, n)
		add(start, e)
		add(start+n-e, e)
	}
	edge(0, size, WipeDiskEdge)
	for _, p := range parts {
		edge(p[0], p[1], WipePartEdge)
	}
	slices.SortFunc(rs, func(a, b [2]int64) int { return int(a[0] - b[0]) })
	var out [][2]int64
	for _, r := range rs {
		if n := len(out); n > 0 && r[0] <= out[n-1][0]+out[n-1][1] {
			out[n-1][1] = max(out[n-1][0]+out[n-1][1], r[0]+r[1]) - out[n-1][0]
			continue
		}
		out = append(out, r)
	}
	return out
}

// wipeDisks quick-wipes every non-removable disk of the machine.
func wipeDisks(root string) (machineapi.Wiped, error) {
	start := time.Now()
	all, err := disks(root)
	if err != nil {
		return machineapi.Wiped{}, err
	}
	var out machineapi.Wiped
	var errs []error
	for _, d := range all {
		if d.Removable || d.SizeBytes == 0 {
			continue
		}
		w, err := QuickWipe(filepath.Join(root, "dev", d.Name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out.Disks = append(out.Disks, w)
	}
	out.Seconds = time.Since(start).Seconds()
	if len(errs) > 0 {
		return out, errors.Join(errs...)
	}
	if len(out.Disks) == 0 {
		return out, fmt.Errorf("no non-removable disk to wipe (have %s)", names(all))
	}
	return out, nil
}

// wipe runs one wipe action and reports its outcome; a failure is
// reported with the cause "wipe: …" and the host goes to failed.
func wipe(ctx context.Context, o Options, cl *Client) {
	o.Log.Info("quick wipe starting")
	w, err := wipeDisks(o.Root)
	if err != nil {
		cause := "wipe: " + strings.ReplaceAll(err.Error(), "\n", "; ")
		o.Log.Error("quick wipe failed", "err", err)
		report(ctx, o, "failed", func(ctx context.Context) error { return cl.Failed(ctx, cause) })
		return
	}
	for _, d := range w.Disks {
		o.Log.Info("disk wiped", "disk", d.Disk, "table", d.Table, "partitions", d.Partitions, "zeroed", d.Zeroed)
	}
	report(ctx, o, "wiped", func(ctx context.Context) error { return cl.Wiped(ctx, w) })
}
