package installer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/images/compression"
)

// cutServer serves a blob with ETag and Range (http.ServeContent), except
// that its first len(cuts) answers break the connection after cuts[i]
// bytes of body, having announced the full length.
type cutServer struct {
	mu          sync.Mutex
	blob        []byte
	etag        string
	cuts        []int
	ignoreRange bool
	seen        []string // "Range|If-Range" of each request
}

func (s *cutServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := len(s.seen)
	s.seen = append(s.seen, r.Header.Get("Range")+"|"+r.Header.Get("If-Range"))
	blob, etag := s.blob, s.etag
	s.mu.Unlock()
	if s.ignoreRange {
		r.Header.Del("Range")
	}
	if i >= len(s.cuts) {
		w.Header().Set("ETag", etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(blob))
		return
	}
	start := 0
	if v, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes="); ok {
		start, _ = strconv.Atoi(strings.TrimSuffix(v, "-"))
	}
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	status := "200 OK"
	extra := ""
	if start > 0 {
		status = "206 Partial Content"
		extra = fmt.Sprintf("Content-Range: bytes %d-%d/%d\r\n", start, len(blob)-1, len(blob))
	}
	fmt.Fprintf(buf, "HTTP/1.1 %s\r\nContent-Length: %d\r\nETag: %s\r\n%s\r\n", status, len(blob)-start, etag, extra)
	buf.Write(blob[start : start+min(s.cuts[i], len(blob)-start)])
	buf.Flush()
}

func randomImage(t *testing.T, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		if (i/(64<<10))%2 == 0 { // runs of zeros between random ones
			b[i] = byte(r.Uint32())
		}
	}
	return b
}

func imageClient(t *testing.T, s *cutServer) (*Client, string, *[]int64) {
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	var resumedAt []int64
	cl := &Client{BaseURL: srv.URL, Token: "t", MAC: "m",
		Sleep:    func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		OnResume: func(off int64, _ error) { resumedAt = append(resumedAt, off) }}
	return cl, srv.URL + "/machine/v1/image?mac=m", &resumedAt
}

// TestImageResumesAfterBrokenConnection: a gzip'd image whose connection
// breaks twice is picked up each time with Range and If-Range, and what
// the writer puts on the disk verifies.
func TestImageResumesAfterBrokenConnection(t *testing.T) {
	img := randomImage(t, 3<<20)
	gz := compress(t, img, "gzip")
	s := &cutServer{blob: gz, etag: `"blob-1"`, cuts: []int{len(gz) / 3, len(gz) / 4}}
	cl, u, resumedAt := imageClient(t, s)
	body, err := cl.Image(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	src, err := compression.NewReader(body, compression.Kind("gzip"))
	if err != nil {
		t.Fatal(err)
	}
	dev := filepath.Join(t.TempDir(), "disk")
	os.WriteFile(dev, nil, 0o644)
	os.Truncate(dev, 4<<20) // a disk has its size before anything is written
	if _, err := WriteImageFile(context.Background(), dev, src, int64(len(img)), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(dev, int64(len(img)), sum(img)); err != nil {
		t.Fatal(err)
	}
	first, second := int64(len(gz)/3), int64(len(gz)/3+len(gz)/4)
	want := []string{"|", "bytes=" + strconv.FormatInt(first, 10) + "-|\"blob-1\"", "bytes=" + strconv.FormatInt(second, 10) + "-|\"blob-1\""}
	if strings.Join(s.seen, " ") != strings.Join(want, " ") {
		t.Errorf("requests %q, want %q", s.seen, want)
	}
	if len(*resumedAt) != 2 || (*resumedAt)[0] != first || (*resumedAt)[1] != second {
		t.Errorf("resumed at %v, want [%d %d]", *resumedAt, first, second)
	}
}

func readImage(t *testing.T, s *cutServer) (int, error) {
	cl, u, _ := imageClient(t, s)
	body, err := cl.Image(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	b, err := io.ReadAll(bufio.NewReader(body))
	return len(b), err
}

// TestImageResumeRefusals: what must end the download rather than be
// resumed, each with an error that says so.
func TestImageResumeRefusals(t *testing.T) {
	blob := randomImage(t, 1<<20)
	t.Run("too many breaks", func(t *testing.T) {
		s := &cutServer{blob: blob, etag: `"b"`, cuts: []int{1000, 1000, 1000, 1000, 1000, 1000, 1000}}
		n, err := readImage(t, s)
		if !errors.Is(err, io.ErrUnexpectedEOF) || n != 6000 || len(s.seen) != maxResumes+1 {
			t.Fatalf("read %d bytes, err %v, %d requests; want an unexpected EOF after %d resumes", n, err, len(s.seen), maxResumes)
		}
	})
	t.Run("no Range support", func(t *testing.T) {
		s := &cutServer{blob: blob, etag: `"b"`, cuts: []int{5000}, ignoreRange: true}
		_, err := readImage(t, s)
		if err == nil || !strings.Contains(err.Error(), "whole image again") || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("blob replaced meanwhile", func(t *testing.T) {
		s := &cutServer{blob: blob, etag: `"b"`, cuts: []int{5000}}
		cl, u, _ := imageClient(t, s)
		body, err := cl.Image(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer body.Close()
		s.mu.Lock()
		s.blob, s.etag = randomImage(t, 2<<20), `"other"`
		s.mu.Unlock()
		if _, err := io.ReadAll(body); err == nil || !strings.Contains(err.Error(), "whole image again") {
			t.Fatalf("err %v, want the download ended (If-Range did not match)", err)
		}
	})
	t.Run("the server's own short answer is not resumed", func(t *testing.T) {
		s := &cutServer{blob: blob[:len(blob)/2], etag: `"b"`}
		n, err := readImage(t, s)
		if err != nil || n != len(blob)/2 || len(s.seen) != 1 {
			t.Fatalf("read %d, err %v, %d requests", n, err, len(s.seen))
		}
	})
}
