package main

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/rackboot/rackboot/images"
)

// isURL says whether an import source is an http(s) URL rather than a file.
func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// urlImport is an import from a URL: the CLI downloads and the appliance
// stores, in one stream; the appliance checks the sha256 (given, or read
// from a checksums file) before it stores anything.
type urlImport struct {
	http      *http.Client // the downloads'; no overall timeout
	sha256    string       // --sha256
	checksums string       // --checksums URL
	retries   int          // resumes of a broken download; default 10
	sleep     func(ctx context.Context, d time.Duration) error
}

// expected is the digest the file must have: --sha256, or its line in
// the --checksums file (sha256 or sha512); none when neither was given.
func (u *urlImport) expected(ctx context.Context, src string) (images.Checksum, error) {
	if u.sha256 != "" {
		s := strings.ToLower(u.sha256)
		if len(s) != 64 || strings.Trim(s, "0123456789abcdef") != "" {
			return images.Checksum{}, fmt.Errorf("--sha256 %q: want 64 hex digits", u.sha256)
		}
		return images.Checksum{Algo: "sha256", Hex: s}, nil
	}
	if u.checksums == "" {
		return images.Checksum{}, nil
	}
	body, err := u.fetchSmall(ctx, u.checksums)
	if err != nil {
		return images.Checksum{}, fmt.Errorf("--checksums: %w", err)
	}
	name, err := fileName(src)
	if err != nil {
		return images.Checksum{}, err
	}
	sum, err := images.ChecksumFor(body, name)
	if err != nil {
		return images.Checksum{}, fmt.Errorf("--checksums %s: %w", u.checksums, err)
	}
	return sum, nil
}

// verifying hashes a download as it streams and, at its end, turns a
// digest that is not the expected one into a read error: the upload is
// cut off before its end, so the appliance stores nothing. It is for
// sha512, which the appliance does not compute; a sha256 goes to the
// appliance as ?sha256=.
type verifying struct {
	r    io.Reader
	h    hash.Hash
	want images.Checksum
	err  error
}

func (v *verifying) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if errors.Is(err, io.EOF) {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want.Hex {
			v.err = fmt.Errorf("checksum mismatch: the download's %s is %s, the checksums say %s; the upload was cut off and nothing was stored", v.want.Algo, got, v.want.Hex)
			return n, v.err
		}
	}
	return n, err
}

// mismatch is the digest mismatch found at the end, if any.
func (v *verifying) mismatch() error { return v.err }

func fileName(src string) (string, error) {
	p, err := url.Parse(src)
	if err != nil {
		return "", err
	}
	return path.Base(p.Path), nil
}

// fetchSmall reads a checksums file, bounded.
func (u *urlImport) fetchSmall(ctx context.Context, src string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, err
	}
	resp, err := u.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", src, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, images.MaxChecksumsBytes+1))
}

// download is a GET that resumes where it broke: a read error other than
// the end re-requests the rest with Range, guarded by If-Range (the first
// answer's ETag or Last-Modified), so a file that changed meanwhile fails
// instead of being spliced.
type download struct {
	u         *urlImport
	ctx       context.Context
	src       string
	body      io.ReadCloser
	off       int64
	size      int64 // -1 when the server did not say
	validator string
	resumes   int
	onResume  func(off int64, err error)
}

// open makes the first request and learns the size and validator.
func (u *urlImport) open(ctx context.Context, src string) (*download, error) {
	d := &download{u: u, ctx: ctx, src: src, size: -1}
	resp, err := d.get(0)
	if err != nil {
		return nil, err
	}
	d.body, d.size = resp.Body, resp.ContentLength
	d.validator = resp.Header.Get("ETag")
	if d.validator == "" || strings.HasPrefix(d.validator, "W/") {
		d.validator = resp.Header.Get("Last-Modified")
	}
	return d, nil
}

func (d *download) get(off int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(d.ctx, http.MethodGet, d.src, nil)
	if err != nil {
		return nil, err
	}
	if off > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-")
		if d.validator != "" {
			req.Header.Set("If-Range", d.validator)
		}
	}
	resp, err := d.u.http.Do(req)
	if err != nil {
		return nil, err
	}
	want := http.StatusOK
	if off > 0 {
		want = http.StatusPartialContent
	}
	if resp.StatusCode != want {
		resp.Body.Close()
		if off > 0 && resp.StatusCode == http.StatusOK {
			return nil, fmt.Errorf("GET %s from byte %d: the server sent the whole file again (it changed, or takes no ranges): start over", d.src, off)
		}
		return nil, fmt.Errorf("GET %s: %s", d.src, resp.Status)
	}
	return resp, nil
}

// Read reads on, resuming after a broken connection.
func (d *download) Read(p []byte) (int, error) {
	for {
		n, err := d.body.Read(p)
		d.off += int64(n)
		if err == nil || n > 0 {
			return n, nil
		}
		if errors.Is(err, io.EOF) {
			if d.size >= 0 && d.off < d.size {
				err = io.ErrUnexpectedEOF // cut short: resume
			} else {
				return 0, io.EOF
			}
		}
		if rerr := d.resume(err); rerr != nil {
			return 0, rerr
		}
	}
}

func (d *download) resume(cause error) error {
	d.body.Close()
	if d.ctx.Err() != nil {
		return d.ctx.Err()
	}
	retries := d.u.retries
	if retries == 0 {
		retries = 10
	}
	for {
		d.resumes++
		if d.resumes > retries {
			return fmt.Errorf("GET %s: gave up after %d resumes at byte %d: %w", d.src, retries, d.off, cause)
		}
		if d.onResume != nil {
			d.onResume(d.off, cause)
		}
		if err := d.u.sleep(d.ctx, time.Duration(min(d.resumes, 5))*time.Second); err != nil {
			return err
		}
		resp, err := d.get(d.off)
		if err == nil {
			d.body = resp.Body
			return nil
		}
		if strings.Contains(err.Error(), "start over") {
			return err
		}
		cause = err
	}
}

func (d *download) Close() error { return d.body.Close() }

// importURL downloads src into the appliance's store under opts.Name,
// with the progress meter on stderr, checking the sha256 when one is
// known. It returns the record the appliance made.
func (c *apiClient) importURL(ctx context.Context, src string, opts images.ImportOptions, u *urlImport, stderr io.Writer) (images.Image, error) {
	sum, err := u.expected(ctx, src)
	if err != nil {
		return images.Image{}, err
	}
	d, err := u.open(ctx, src)
	if err != nil {
		return images.Image{}, err
	}
	defer d.Close()
	name, _ := fileName(src)
	meter := newProgress(stderr, name, d.size)
	d.onResume = func(off int64, err error) {
		fmt.Fprintf(stderr, "\r\033[Kdownload broke at byte %d (%v); resuming\n", off, err)
	}
	q := url.Values{"name": {opts.Name}, "source": {src}}
	var body io.Reader = d
	switch sum.Algo {
	case "sha256": // the appliance checks it, and stores nothing on a mismatch
		q.Set("sha256", sum.Hex)
	case "sha512":
		body = &verifying{r: d, h: sha512.New(), want: sum}
	default:
		fmt.Fprintln(stderr, "warning: no --sha256 or --checksums: the download is not checked against a published sum")
	}
	if opts.Replace {
		q.Set("replace", "true")
	}
	var img images.Image
	v, _ := body.(*verifying)
	size := d.size
	if v != nil {
		// Chunked: the appliance sees the upload's end only after the
		// last read, so a mismatch found there cuts it off. With a
		// length, the last bytes would complete it first.
		size = -1
	}
	err = c.upload(ctx, "/api/v1/images?"+q.Encode(), meter.reader(body), size, &img)
	meter.finish(err == nil)
	if err != nil && v != nil && v.mismatch() != nil {
		return img, v.mismatch()
	}
	return img, err
}
