package partition

import (
	"fmt"
)

// SeedSize is the size of a seed partition rackboot adds: room for any
// seed (user-data is bounded far below it) and a FAT16 filesystem.
const SeedSize = 16 << 20

// seedAlign aligns an added seed partition, as partitioning tools do.
const seedAlign = 1 << 20

// Plan is where a disk's seed goes.
type Plan struct {
	Table  Kind
	Number int   // partition number
	Start  int64 // bytes
	Size   int64
	// Reuse: the partition is the image's own seed partition, with this
	// label; nothing is added to the table.
	Reuse bool
	Label string
}

func (p Plan) String() string {
	if p.Reuse {
		return fmt.Sprintf("the image's partition %d (labelled %s)", p.Number, p.Label)
	}
	return fmt.Sprintf("new %s partition %d (%d MiB at %d MiB)", p.Table, p.Number, p.Size>>20, p.Start>>20)
}

// PlanSeed places the seed of a disk of diskSize bytes that holds an image
// of imageSize bytes with layout l. An image seed partition is reused;
// otherwise a new one goes in the disk's last MiBs (before the backup GPT),
// past the image and every partition, in the first free entry. It fails
// with ErrNoRoom, saying why, when it cannot; it writes nothing.
func PlanSeed(l Layout, imageSize, diskSize int64) (Plan, error) {
	if n := l.SeedPartition(); n != 0 {
		for _, p := range l.Partitions {
			if p.Number == n {
				return Plan{Table: l.Table, Number: n, Start: p.Start, Size: p.Size, Reuse: true, Label: p.Label}, nil
			}
		}
	}
	if err := l.Seedable(); err != nil {
		return Plan{}, err
	}
	used := imageSize
	numbers := map[int]bool{}
	for _, p := range l.Partitions {
		used = max(used, p.End())
		numbers[p.Number] = true
	}
	end := diskSize
	switch l.Table {
	case GPT:
		// The backup header's sector and its entries before it.
		end -= l.SectorSize * (1 + ceilDiv(int64(l.GPTEntries)*int64(l.GPTEntrySize), l.SectorSize))
	case MBR:
		end = min(end, int64(1)<<32*512) // 32-bit sector numbers
	default:
		return Plan{}, fmt.Errorf("%w: unknown table %q", ErrNoRoom, l.Table)
	}
	end = end / seedAlign * seedAlign
	start := end - SeedSize
	floor := ceilDiv(used, seedAlign) * seedAlign
	if start < floor {
		return Plan{}, fmt.Errorf("%w: the disk has %d bytes and the image and its partitions end at byte %d: a %d MiB seed partition needs the disk to be at least %d MiB larger",
			ErrNoRoom, diskSize, used, SeedSize>>20, (floor-start+seedAlign-1)>>20)
	}
	n := 1
	for numbers[n] {
		n++
	}
	if (l.Table == MBR && n > 4) || (l.Table == GPT && n > l.GPTEntries) {
		return Plan{}, fmt.Errorf("%w: no free entry in the image's %s", ErrNoRoom, l.Table)
	}
	return Plan{Table: l.Table, Number: n, Start: start, Size: SeedSize}, nil
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
