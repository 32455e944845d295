package installer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxResumes bounds how often one image download is picked up again
// after its connection broke.
const maxResumes = 5

// resumingBody is an image stream that survives a broken connection: when
// a read fails before the length the server announced, it asks again for
// the rest (Range: bytes=OFFSET-) with If-Range set to the first answer's
// ETag, so the rest can only come from the same blob; a server that
// answers anything but 206 from that offset ends the download with the
// original error. A stream that ends cleanly but short (the server itself
// sent less) is not resumed: the writer calls it truncated.
type resumingBody struct {
	ctx      context.Context
	c        *Client
	url      string
	etag     string
	body     io.ReadCloser
	off      int64 // bytes delivered so far
	total    int64 // announced length, -1 when unknown
	resumes  int
	onResume func(off int64, cause error)
	sleep    func(ctx context.Context, d time.Duration) error
}

func (b *resumingBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.off += int64(n)
	if err == nil || (errors.Is(err, io.EOF) && (b.total < 0 || b.off >= b.total)) {
		return n, err
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if b.etag == "" || b.total < 0 || b.resumes >= maxResumes || b.ctx.Err() != nil {
		return n, err
	}
	b.resumes++
	if b.onResume != nil {
		b.onResume(b.off, err)
	}
	b.body.Close()
	if serr := b.sleep(b.ctx, time.Duration(b.resumes)*time.Second); serr != nil {
		return n, err
	}
	body, rerr := b.c.imageFrom(b.ctx, b.url, b.off, b.etag)
	if rerr != nil {
		b.body = io.NopCloser(errReader{err})
		return n, fmt.Errorf("%w (resuming at byte %d: %v)", err, b.off, rerr)
	}
	b.body = body
	return n, nil
}

func (b *resumingBody) Close() error { return b.body.Close() }

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// imageFrom asks for the image from byte off on, from the same blob.
func (c *Client) imageFrom(ctx context.Context, u string, off int64, etag string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-")
	req.Header.Set("If-Range", etag)
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusPartialContent {
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil, errors.New("the appliance sent the whole image again (no Range support, or the image changed)")
		}
		return nil, statusErr(resp)
	}
	want := "bytes " + strconv.FormatInt(off, 10) + "-"
	if cr := resp.Header.Get("Content-Range"); !strings.HasPrefix(cr, want) {
		resp.Body.Close()
		return nil, fmt.Errorf("asked for bytes from %d, got Content-Range %q", off, cr)
	}
	return resp.Body, nil
}
