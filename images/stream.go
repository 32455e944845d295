package images

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/rackboot/rackboot/images/compression"
	"github.com/rackboot/rackboot/images/partition"
)

// copyBuf is the size of the reads and writes of an import: large enough
// that syscalls and hashing per call are cheap, small enough for many
// imports at once.
const copyBuf = 1 << 20

// stream is the one pass over an import: the input goes to blob as is,
// hashed and counted, while a decoder beside it hashes and counts the
// uncompressed content. It returns the path of the uncompressed ISO when
// the content is one (the blob itself when it was not compressed).
func (st *staged) stream(ctx context.Context, r io.Reader, blob *os.File, opts ImportOptions, tmpDir string) (string, error) {
	p := &pass{src: &sourceReader{ctx: ctx, r: r}, blobFile: &recordingWriter{w: blob}, tmpDir: tmpDir, st: st}
	in := bufio.NewReaderSize(p.src, copyBuf)
	head, err := peekHead(in)
	if err != nil {
		return "", p.cause(err, None)
	}
	comp := compressionOf(Sniff(head))
	window, err := compression.Window(comp, head)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	stored, storedSum := &counter{}, sha256.New()
	bw := bufio.NewWriterSize(p.blobFile, copyBuf)
	var compressed io.Reader = io.TeeReader(in, io.MultiWriter(bw, storedSum, stored))
	if comp != None {
		// A buffered reader is an io.ByteReader, which spares flate and
		// xz a buffer of their own in front of the tee.
		compressed = bufio.NewReaderSize(compressed, copyBuf)
	}
	format, err := p.decode(compressed, comp, opts.ISO)
	if err != nil {
		return "", err
	}
	if err := bw.Flush(); err != nil {
		return "", p.cause(err, comp)
	}
	if err := blob.Sync(); err != nil {
		return "", err
	}
	source := hex.EncodeToString(storedSum.Sum(nil))
	if want := opts.SHA256; want != "" && want != source {
		return "", fmt.Errorf("%w: the file's sha256 is %s, expected %s; nothing was stored", ErrChecksum, source, want)
	}
	if format == formatQcow2 {
		src := p.scratchPath
		if src == "" {
			src = blob.Name()
		}
		return "", st.fromQcow2(ctx, src, tmpDir, source, stored.n)
	}
	st.img = Image{Format: format, Compression: comp, DecodeWindow: window, Size: p.size.n,
		StoredSHA256: source, StoredSize: stored.n, SourceSHA256: source, SourceSize: stored.n}
	st.img.SHA256 = st.img.StoredSHA256
	if p.rawSum != nil {
		st.img.SHA256 = hex.EncodeToString(p.rawSum.Sum(nil))
	}
	if p.scan != nil {
		l, err := p.scan.Layout()
		if err != nil {
			return "", fmt.Errorf("%w: partition table: %v", ErrCorrupt, err)
		}
		st.img.Layout = &l
	}
	st.blobs = append(st.blobs, stagedBlob{path: blob.Name(), digest: st.img.StoredSHA256})
	iso := p.scratchPath
	if format == FormatISO && iso == "" {
		iso = blob.Name()
	}
	return iso, blob.Close()
}

// fromQcow2 converts the staged qcow2 file at src into a raw blob of its
// own, which becomes the image's only blob: the store keeps raw content,
// sparse, and the qcow2 is dropped with the other temp files.
func (st *staged) fromQcow2(ctx context.Context, src, tmpDir, sourceSHA string, sourceSize int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp(tmpDir, "raw-*")
	if err != nil {
		return err
	}
	st.tmp = append(st.tmp, out.Name())
	defer out.Close()
	c, err := convertQcow2(ctx, in, out)
	if err != nil {
		return err
	}
	st.img = Image{Format: FormatRaw, Compression: None, Size: c.size, SHA256: c.sha256, StoredSHA256: c.sha256, StoredSize: c.size,
		SourceFormat: string(formatQcow2), SourceSHA256: sourceSHA, SourceSize: sourceSize, Layout: &c.layout}
	st.blobs = append(st.blobs, stagedBlob{path: out.Name(), digest: c.sha256})
	return out.Close()
}

// pass holds what one import's stream has seen.
type pass struct {
	src      *sourceReader
	blobFile *recordingWriter
	scratch  *recordingWriter
	rawSum   hash.Hash
	size     counter
	scan     *partition.Scanner // a raw image's table, read on the way

	tmpDir      string
	st          *staged // to register the scratch file for cleanup
	scratchPath string
}

// decode reads the compressed stream to its end through a decoder, sniffs
// and classifies the content, and hashes it. An uncompressed ISO is also
// copied to a scratch file, since extracting its boot files needs random
// access.
func (p *pass) decode(compressed io.Reader, comp Compression, wantISO bool) (Format, error) {
	dec, err := compression.NewReader(compressed, comp)
	if err != nil {
		return "", p.cause(err, comp)
	}
	defer dec.Close()
	raw := bufio.NewReaderSize(dec, sniffLen)
	head, err := peekHead(raw)
	if err != nil {
		return "", p.cause(err, comp)
	}
	format, err := classify(head, len(head) < sniffLen, comp, wantISO)
	if err != nil {
		return "", err
	}
	// Uncompressed, the stored bytes are the content: one hash serves both.
	sinks := []io.Writer{&p.size}
	if comp != None {
		p.rawSum = sha256.New()
		sinks = append(sinks, p.rawSum)
	}
	if format == FormatRaw {
		p.scan = &partition.Scanner{}
		sinks = append(sinks, p.scan)
	}
	// An ISO and a qcow2 need random access: a compressed one is copied
	// out to a scratch file as it is decoded.
	if (format == FormatISO || format == formatQcow2) && comp != None {
		scratch, err := p.openScratch()
		if err != nil {
			return "", err
		}
		defer scratch.Close()
		sinks = append(sinks, p.scratch)
	}
	if _, err := io.Copy(io.MultiWriter(sinks...), raw); err != nil {
		return "", p.cause(err, comp)
	}
	return format, p.drain(compressed, comp)
}

// openScratch creates the file for the uncompressed copy of an ISO or a
// qcow2.
func (p *pass) openScratch() (*os.File, error) {
	f, err := os.CreateTemp(p.tmpDir, "scratch-*")
	if err != nil {
		return nil, err
	}
	p.st.tmp = append(p.st.tmp, f.Name())
	p.scratch, p.scratchPath = &recordingWriter{w: f}, f.Name()
	return f, nil
}

// drain reads what follows the end of the compressed stream, so the blob
// holds the whole input and junk after the stream is refused, not stored.
func (p *pass) drain(compressed io.Reader, comp Compression) error {
	if comp == None {
		return nil
	}
	n, err := io.Copy(io.Discard, compressed)
	if err != nil {
		return p.cause(err, comp)
	}
	if n > 0 {
		return fmt.Errorf("%w: %d bytes after the end of the %s stream", ErrCorrupt, n, comp)
	}
	return nil
}

// cause names why the stream stopped: the source (the upload ended, the
// context was cancelled), the disk (full), or else the decoder, which
// means the data is truncated or damaged.
func (p *pass) cause(err error, comp Compression) error {
	switch {
	case p.src.err != nil:
		return fmt.Errorf("read input: %w", p.src.err)
	case p.blobFile.err != nil:
		return fmt.Errorf("write blob: %w", p.blobFile.err)
	case p.scratch != nil && p.scratch.err != nil:
		return fmt.Errorf("write ISO copy: %w", p.scratch.err)
	case comp == None:
		return fmt.Errorf("read input: %w", err)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("%w: %s stream truncated", ErrCorrupt, comp)
	}
	return fmt.Errorf("%w: %s stream: %v", ErrCorrupt, comp, err)
}

// peekHead returns the first sniffLen bytes of r, or all of them if r is
// shorter, without consuming them.
func peekHead(r *bufio.Reader) ([]byte, error) {
	head, err := r.Peek(sniffLen)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return head, err
}

// sourceReader stops at the context's end and remembers the first error of
// the source itself, which is not the data's fault.
type sourceReader struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (s *sourceReader) Read(b []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return 0, err
	}
	n, err := s.r.Read(b)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// recordingWriter remembers the first write error (a full disk).
type recordingWriter struct {
	w   io.Writer
	err error
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

type counter struct{ n int64 }

func (c *counter) Write(b []byte) (int, error) {
	c.n += int64(len(b))
	return len(b), nil
}
