package resources

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
)

// maxSource bounds a fetched source: the content is held in memory.
const maxSource = 64 << 20

// fetched is a File's Source content. It is fetched once and kept, so a
// drift check does not hit the network; a new graph makes a new File and so
// fetches again.
type fetched struct {
	data []byte
}

func validateSource(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fieldErr("source", "%v", err)
	}
	switch u.Scheme {
	case "file", "http", "https":
		return nil
	}
	return fieldErr("source", "scheme %q: want file, http or https", u.Scheme)
}

// desired returns the wanted content and whether content is managed at all.
func (f *File) desired(ctx context.Context) ([]byte, bool, error) {
	switch {
	case f.Content != nil:
		return []byte(*f.Content), true, nil
	case f.Source == "":
		return nil, false, nil
	case f.src == nil:
		data, err := fetchSource(ctx, f.Source)
		if err != nil {
			return nil, false, err
		}
		f.src = &fetched{data: data}
	}
	return f.src.data, true, nil
}

func fetchSource(ctx context.Context, src string) ([]byte, error) {
	u, err := url.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	if u.Scheme == "file" {
		data, err := os.ReadFile(u.Path)
		if err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
		return data, nil
	}
	return fetchHTTP(ctx, src)
}

func fetchHTTP(ctx context.Context, src string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("source %s: %s", src, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSource+1))
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", src, err)
	}
	if len(data) > maxSource {
		return nil, fmt.Errorf("source %s: larger than %d bytes", src, maxSource)
	}
	return data, nil
}
