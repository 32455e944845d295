package installer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unsafe"

	"github.com/rackboot/rackboot/images/compression"
	"golang.org/x/sys/unix"
)

// Block sizes of the image writer. Reads and writes go in BlockSize
// pieces; within a block, ChunkSize runs of zeros are not written.
const (
	BlockSize = 4 << 20
	ChunkSize = 64 << 10
)

// WriteOptions tune WriteImage.
type WriteOptions struct {
	// Progress, when set, is called with the bytes done after each block.
	Progress func(written int64)
	// AssumeBlank skips zero runs without zeroing them on the target:
	// only right for a target known to read as zeros (benchmarks).
	AssumeBlank bool
}

// WriteStats is what WriteImage did.
type WriteStats struct {
	Written int64 // bytes of image content, zero runs included
	Zeroed  int64 // bytes of zero runs not written as data
	Elapsed time.Duration
}

// WriteImageFile opens path (a block device, or a regular file standing in
// for one) and writes the image to it with WriteImage, then syncs.
func WriteImageFile(ctx context.Context, path string, r io.Reader, size int64, wo WriteOptions) (WriteStats, error) {
	f, _, err := openTarget(path)
	if err != nil {
		return WriteStats{}, stepErr("write", err)
	}
	st, err := WriteImage(ctx, f, r, size, wo)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = stepErr("write", cerr)
	}
	return st, err
}

// WriteImage streams exactly size bytes from r onto dst from offset 0, in
// BlockSize blocks read by one goroutine and written by another, so the
// network and decompression overlap the disk. All-zero ChunkSize runs are
// not written as data: on a block device they are zeroed with BLKZEROOUT
// (the device's write-zeroes, cheap on virtio and NVMe; the kernel falls
// back to writing zero pages), on a file their range is punched, so a
// reused disk never keeps old data where the image has zeros. A stream
// shorter or longer than size, or one the decompressor rejects, fails;
// the target is synced before WriteImage returns. Errors are *StepError.
func WriteImage(ctx context.Context, dst *os.File, r io.Reader, size int64, wo WriteOptions) (WriteStats, error) {
	start := time.Now()
	fi, err := dst.Stat()
	if err != nil {
		return WriteStats{}, stepErr("write", err)
	}
	w := &extentWriter{f: dst, blockDev: fi.Mode()&os.ModeDevice != 0, assumeBlank: wo.AssumeBlank}

	type block struct {
		buf []byte
		n   int
	}
	free := make(chan []byte, 3)
	for range 3 {
		free <- alignedBuf(BlockSize)
	}
	full := make(chan block, 2)
	readErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(full)
		var got int64
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-ctx.Done():
				readErr <- ctx.Err()
				return
			}
			n, err := io.ReadFull(r, buf)
			got += int64(n)
			if got > size {
				readErr <- fmt.Errorf("stream is longer than the image's %d bytes", size)
				return
			}
			if n > 0 {
				full <- block{buf, n}
			}
			switch {
			case err == nil:
				continue
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				if got < size {
					readErr <- fmt.Errorf("%w: ended after %d of %d bytes", compression.ErrTruncated, got, size)
				} else {
					readErr <- nil
				}
			default:
				readErr <- compression.Truncated(err)
			}
			return
		}
	}()

	var werr error
	for b := range full {
		if werr == nil {
			werr = w.write(b.buf[:b.n])
			if werr == nil && wo.Progress != nil {
				wo.Progress(w.off)
			}
			if werr != nil {
				cancel()
			}
		}
		if werr == nil {
			free <- b.buf
		} // else: starve the reader, which then sees ctx done and stops
	}
	rerr := <-readErr
	if werr != nil {
		return WriteStats{}, stepErr("write", werr)
	}
	if rerr != nil {
		return WriteStats{}, stepErr("download", rerr)
	}
	if err := w.finish(); err != nil {
		return WriteStats{}, stepErr("write", err)
	}
	if err := dst.Sync(); err != nil {
		return WriteStats{}, stepErr("write", fmt.Errorf("sync: %w", err))
	}
	return WriteStats{Written: w.off, Zeroed: w.zeroed, Elapsed: time.Since(start)}, nil
}

// extentWriter writes data runs with pwrite and collects zero runs into
// one pending range, zeroed when data follows or at the end.
type extentWriter struct {
	f           *os.File
	blockDev    bool
	assumeBlank bool
	off         int64 // bytes of image consumed
	zeroStart   int64 // start of the pending zero run, when zeroSet
	zeroed      int64
	zeroSet     bool
}

var zeroChunk = make([]byte, ChunkSize)

func (w *extentWriter) write(b []byte) error {
	for len(b) > 0 {
		// The data run: chunks up to the next all-zero one.
		i := 0
		for i < len(b) {
			c := b[i:min(i+ChunkSize, len(b))]
			if len(c) == ChunkSize && bytes.Equal(c, zeroChunk) {
				break
			}
			i += len(c)
		}
		if i > 0 {
			if err := w.flushZeros(); err != nil {
				return err
			}
			if _, err := w.f.WriteAt(b[:i], w.off); err != nil {
				return err
			}
			w.off += int64(i)
			b = b[i:]
			continue
		}
		// A zero chunk: extend the pending zero run.
		if !w.zeroSet {
			w.zeroStart, w.zeroSet = w.off, true
		}
		w.off += ChunkSize
		w.zeroed += ChunkSize
		b = b[ChunkSize:]
	}
	return nil
}

func (w *extentWriter) finish() error { return w.flushZeros() }

// flushZeros makes the pending zero run read as zeros on the target.
func (w *extentWriter) flushZeros() error {
	if !w.zeroSet {
		return nil
	}
	start, n := w.zeroStart, w.off-w.zeroStart
	w.zeroSet = false
	if w.assumeBlank {
		return nil
	}
	return zeroRange(w.f, w.blockDev, start, n)
}

// openTarget opens a disk (or an image file, in tests) for writing and
// says whether it is a block device; a block device is opened O_EXCL, so
// one that is mounted or in use is refused.
func openTarget(path string) (*os.File, bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, false, err
	}
	blockDev := fi.Mode()&os.ModeDevice != 0
	flags := os.O_RDWR
	if blockDev {
		flags |= unix.O_EXCL
	}
	f, err := os.OpenFile(path, flags, 0)
	return f, blockDev, err
}

// zeroRange makes n bytes of f from start read as zeros: BLKZEROOUT on a
// block device, a punched hole in a file, and written zeros where neither
// is supported.
func zeroRange(f *os.File, blockDev bool, start, n int64) error {
	var err error
	if blockDev {
		r := [2]uint64{uint64(start), uint64(n)}
		_, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.BLKZEROOUT, uintptr(unsafe.Pointer(&r[0])))
		if e != 0 {
			err = e
		}
	} else {
		err = unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, start, n)
	}
	if err == nil {
		return nil
	}
	for n > 0 {
		c := min(n, int64(ChunkSize))
		if _, err := f.WriteAt(zeroChunk[:c], start); err != nil {
			return err
		}
		start += c
		n -= c
	}
	return nil
}

// VerifyFile reads the first size bytes of path back from the device (its
// cached pages dropped first, so the bytes come from the disk, not from
// what the writer left in memory) and compares their sha256 with want.
func VerifyFile(path string, size int64, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dropCache(f)
	unix.Fadvise(int(f.Fd()), 0, size, unix.FADV_SEQUENTIAL)
	h := sha256.New()
	n, err := io.CopyBuffer(h, io.LimitReader(f, size), alignedBuf(BlockSize))
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	if n != size {
		return fmt.Errorf("read back %d of %d bytes", n, size)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != want {
		return fmt.Errorf("checksum mismatch: wrote %s, expected %s", got, want)
	}
	return nil
}

// dropCache drops the cached pages of a disk (or file), so what is read
// next comes from the device.
func dropCache(f *os.File) {
	if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeDevice != 0 {
		unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.BLKFLSBUF, 0)
	}
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// alignedBuf returns a page-aligned buffer, fit for O_DIRECT should the
// writer ever use it.
func alignedBuf(n int) []byte {
	b := make([]byte, n+4096)
	off := int(uintptr(unsafe.Pointer(&b[0])) & 4095)
	if off != 0 {
		off = 4096 - off
	}
	return b[off : off+n : off+n]
}
