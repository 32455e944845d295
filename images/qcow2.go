package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"
	"github.com/lima-vm/go-qcow2reader/image/qcow2"
	qcow2log "github.com/lima-vm/go-qcow2reader/log"
	"github.com/rackboot/rackboot/images/partition"
)

// The conversion reads the virtual disk in segments, decompressed by
// several workers at once, and writes and hashes them in order.
const (
	qcowSegment = 4 << 20 // a multiple of every cluster size (at most 2 MiB)
	qcowChunk   = 64 << 10
)

var setupQcow2 sync.Once

// qcow2Setup registers rackboot's decompressors with go-qcow2reader (its
// registry is global): zstd, which it lacks, and zlib through klauspost's
// flate (about twice the standard library's speed), both pooled, both
// filling a whole cluster per read. The library's warnings are dropped: what the
// import refuses or accepts is decided by parseQcow2.
func qcow2Setup() {
	setupQcow2.Do(func() {
		qcow2log.SetWarnFunc(func(string) {})
		qcow2.SetDecompressor(qcow2.CompressionTypeZlib, pooledFlate)
		qcow2.SetDecompressor(qcow2.CompressionTypeZstd, pooledZstd)
	})
}

var flatePool, zstdPool, clusterPool sync.Pool

// inMemory reads a compressed cluster (go-qcow2reader hands it over as an
// io.SectionReader of the file) with one pread, so the decompressor does
// not read the file 4 KiB at a time. The buffer goes back to the pool on
// release.
func inMemory(r io.Reader) (*bytes.Reader, func(), error) {
	sr, ok := r.(*io.SectionReader)
	if !ok {
		b, err := io.ReadAll(r)
		return bytes.NewReader(b), func() {}, err
	}
	bp, _ := clusterPool.Get().(*[]byte)
	if bp == nil || int64(cap(*bp)) < sr.Size() {
		b := make([]byte, sr.Size())
		bp = &b
	}
	b := (*bp)[:sr.Size()]
	n, err := sr.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	return bytes.NewReader(b[:n]), func() { clusterPool.Put(bp) }, nil
}

func pooledFlate(r io.Reader) (io.ReadCloser, error) {
	br, release, err := inMemory(r)
	if err != nil {
		return nil, err
	}
	f, ok := flatePool.Get().(io.ReadCloser)
	if !ok || f.(flate.Resetter).Reset(br, nil) != nil {
		f = flate.NewReader(br)
	}
	return &fullReader{r: f, done: func() { flatePool.Put(f); release() }}, nil
}

func pooledZstd(r io.Reader) (io.ReadCloser, error) {
	br, release, err := inMemory(r)
	if err != nil {
		return nil, err
	}
	d, ok := zstdPool.Get().(*zstd.Decoder)
	if !ok {
		var err error
		if d, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(8<<20)); err != nil {
			return nil, err
		}
	}
	if err := d.Reset(br); err != nil {
		release()
		return nil, err
	}
	return &fullReader{r: d, done: func() { d.Reset(nil); zstdPool.Put(d); release() }}, nil
}

// fullReader reads until p is full or the stream ends, so one Read gives
// go-qcow2reader a whole cluster (a short read would decompress it again).
type fullReader struct {
	r    io.Reader
	done func()
}

func (f *fullReader) Read(p []byte) (int, error) {
	n, err := io.ReadFull(f.r, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

func (f *fullReader) Close() error {
	if f.done != nil {
		f.done()
		f.done = nil
	}
	return nil
}

// readerOnly hides every method of a file but ReadAt, so go-qcow2reader
// cannot learn its name and go looking for a backing file beside it.
type readerOnly struct{ io.ReaderAt }

// converted is a qcow2 image written out as its raw content.
type converted struct {
	size   int64
	sha256 string
	layout partition.Layout
}

// convertQcow2 writes the virtual disk of the qcow2 file src into dst,
// which must be empty: runs of zeros are left as holes, so dst is as
// sparse as the image. It hashes the content and reads its partition
// layout on the way. Refusals (backing file, external data, encryption)
// come from parseQcow2 before anything is read past the header.
func convertQcow2(ctx context.Context, src io.ReaderAt, dst *os.File) (converted, error) {
	h, err := parseQcow2(src)
	if err != nil {
		return converted{}, err
	}
	qcow2Setup()
	img, err := qcow2.Open(readerOnly{src}, nil)
	if err != nil {
		return converted{}, fmt.Errorf("%w: qcow2: %v", ErrCorrupt, err)
	}
	defer img.Close()
	if err := img.Readable(); err != nil {
		return converted{}, fmt.Errorf("%w: qcow2: %v", ErrUnsupported, err)
	}
	size := int64(h.size)
	sum, scan := sha256.New(), &partition.Scanner{}
	err = segments(ctx, img, size, func(b []byte, off int64) error {
		// Hash and scan beside the write: three passes over the same
		// bytes, on two cores.
		done := make(chan struct{})
		go func() {
			sum.Write(b)
			scan.Write(b)
			close(done)
		}()
		err := writeSparse(dst, b, off)
		<-done
		return err
	})
	if err != nil {
		return converted{}, err
	}
	if err := dst.Truncate(size); err != nil {
		return converted{}, err
	}
	layout, err := scan.Layout()
	if err != nil {
		return converted{}, fmt.Errorf("%w: the qcow2 image's disk: %v", ErrCorrupt, err)
	}
	return converted{size: size, sha256: hex.EncodeToString(sum.Sum(nil)), layout: layout}, dst.Sync()
}

// segment is one piece of the virtual disk on its way to the writer.
type segment struct {
	off  int64
	buf  []byte
	err  error
	done chan struct{}
}

// segments reads the virtual disk in qcowSegment pieces, each by one of
// GOMAXPROCS workers, and hands them to use in order. Unallocated and zero
// clusters are not read: their bytes are zeros already.
func segments(ctx context.Context, img *qcow2.Qcow2, size int64, use func(b []byte, off int64) error) error {
	workers := max(1, min(runtime.GOMAXPROCS(0), 4))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	order := make(chan *segment, 2*workers)
	jobs := make(chan *segment)
	free := make(chan []byte, 3*workers)
	for range 3 * workers {
		free <- make([]byte, qcowSegment)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range jobs {
				s.err = readSegment(img, s.buf, s.off)
				close(s.done)
			}
		}()
	}
	go func() {
		defer close(order)
		defer close(jobs)
		for off := int64(0); off < size; off += qcowSegment {
			var buf []byte
			select {
			case buf = <-free:
			case <-ctx.Done():
				return
			}
			s := &segment{off: off, buf: buf[:min(qcowSegment, size-off)], done: make(chan struct{})}
			select {
			case jobs <- s:
			case <-ctx.Done():
				return
			}
			order <- s
		}
	}()
	err := func() error {
		for s := range order {
			<-s.done
			if s.err != nil {
				return s.err
			}
			if err := use(s.buf, s.off); err != nil {
				return err
			}
			free <- s.buf[:cap(s.buf)]
		}
		return ctx.Err()
	}()
	cancel()
	for range order { // let the feeder see the cancel and stop
	}
	wg.Wait()
	return err
}

// readSegment fills b with the virtual disk from off.
func readSegment(img *qcow2.Qcow2, b []byte, off int64) error {
	for pos := 0; pos < len(b); {
		ext, err := img.Extent(off+int64(pos), int64(len(b)-pos))
		if err != nil {
			return fmt.Errorf("%w: qcow2 at byte %d: %v", ErrCorrupt, off+int64(pos), err)
		}
		n := int(min(ext.Length, int64(len(b)-pos)))
		if n <= 0 {
			return fmt.Errorf("%w: qcow2 at byte %d: empty extent", ErrCorrupt, off+int64(pos))
		}
		if ext.Zero {
			clear(b[pos : pos+n])
		} else if _, err := img.ReadAt(b[pos:pos+n], off+int64(pos)); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: qcow2 at byte %d: %v", ErrCorrupt, off+int64(pos), err)
		}
		pos += n
	}
	return nil
}

var zeroChunk = make([]byte, qcowChunk)

// writeSparse writes b at off except its all-zero qcowChunk runs, which a
// new file reads as zeros already.
func writeSparse(f *os.File, b []byte, off int64) error {
	for i := 0; i < len(b); {
		j := i
		for j < len(b) {
			c := b[j:min(j+qcowChunk, len(b))]
			if bytes.Equal(c, zeroChunk[:len(c)]) {
				break
			}
			j += len(c)
		}
		if j > i {
			if _, err := f.WriteAt(b[i:j], off+int64(i)); err != nil {
				return err
			}
			i = j
			continue
		}
		i += min(qcowChunk, len(b)-i)
	}
	return nil
}
