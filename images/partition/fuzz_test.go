package partition

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// sparseDisk is a disk in memory, in 4 KiB pages made on first write.
type sparseDisk struct {
	size  int64
	pages map[int64][]byte
}

const page = 4096

func (d *sparseDisk) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) && off+int64(n) < d.size {
		o := off + int64(n)
		c := min(len(p)-n, int(page-o%page), int(d.size-o))
		if pg := d.pages[o/page]; pg != nil {
			copy(p[n:n+c], pg[o%page:])
		} else {
			clear(p[n : n+c])
		}
		n += c
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (d *sparseDisk) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > d.size {
		return 0, errors.New("write past the disk")
	}
	for n := 0; n < len(p); {
		o := off + int64(n)
		pg := d.pages[o/page]
		if pg == nil {
			pg = make([]byte, page)
			d.pages[o/page] = pg
		}
		n += copy(pg[o%page:], p[n:])
	}
	return len(p), nil
}

// FuzzParse feeds arbitrary image heads to the table parser, the streaming
// scanner and the seed placement: none may panic; the scanner must agree
// with Parse; every partition a layout lists must lie where its table
// allows; and a seed added to a disk twice the head's size must leave a
// table that parses, with the seed partition in it.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, head []byte) {
		l, err := Parse(head)
		var s Scanner
		s.Write(head)
		sl, serr := s.Layout()
		if (err == nil) != (serr == nil) {
			t.Fatalf("Parse %v, Scanner %v", err, serr)
		}
		if err != nil {
			if !errors.Is(err, ErrNoTable) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		a, _ := json.Marshal(l.Partitions)
		bare := make([]Partition, len(sl.Partitions)) // the labels aside
		for i, p := range sl.Partitions {
			p.FS, p.Label = "", ""
			bare[i] = p
		}
		if b, _ := json.Marshal(bare); len(l.Partitions)+len(bare) > 0 && !bytes.Equal(a, b) {
			t.Fatalf("Parse %s, Scanner %s", a, b)
		}
		for _, p := range l.Partitions {
			if p.Start <= 0 || p.Size <= 0 || p.Number < 1 {
				t.Fatalf("partition %+v", p)
			}
		}
		disk := &sparseDisk{size: 2 * int64(max(len(head), SeedSize+4<<20)), pages: map[int64][]byte{}}
		disk.WriteAt(head, 0)
		plan, err := PlanSeed(l, int64(len(head)), disk.size)
		if err != nil {
			return
		}
		if err := AddSeed(disk, disk.size, plan); err != nil || plan.Reuse {
			return
		}
		newHead := make([]byte, HeadSize)
		n, _ := disk.ReadAt(newHead, 0)
		after, err := Parse(newHead[:n])
		if err != nil {
			t.Fatalf("after adding %s: %v", plan, err)
		}
		found := false
		for _, p := range after.Partitions {
			found = found || (p.Number == plan.Number && p.Start == plan.Start && p.Size == plan.Size)
		}
		if !found {
			t.Fatalf("after adding %s: partitions %+v", plan, after.Partitions)
		}
	})
}
