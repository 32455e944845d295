package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/machineapi"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ImageSync shares image records among the appliances: an import on one
// is published under images/NAME in etcd with the importing appliance's
// id; every appliance follows images/ and adopts a record it lacks,
// fetching the blobs by sha256 from a peer's machine-facing URL (the
// importer first) and keeping them only when they hash right. A record
// deleted in etcd is removed here. Records adopted while away are caught
// up at start; removals made while away are not (the image stays here).
type ImageSync struct {
	Member *Member
	Store  *images.Store
	// Key makes the peer tokens (machineapi.PeerBlobToken); every
	// appliance derives the same from the shared sealing key.
	Key  []byte
	HTTP *http.Client // default: one with a 30-minute timeout
	// Retry is how often records that could not be adopted are tried
	// again; default 10s.
	Retry time.Duration
}

// imageRecord is what etcd holds for one image.
type imageRecord struct {
	Image  images.Image `json:"image"`
	Origin string       `json:"origin"` // the appliance that imported it
}

func (s *ImageSync) key(name string) string { return s.Member.prefix() + "images/" + name }

// Publish tells the other appliances about an image imported here.
func (s *ImageSync) Publish(ctx context.Context, img images.Image) error {
	v, err := json.Marshal(imageRecord{Image: img, Origin: s.Member.ID})
	if err != nil {
		return err
	}
	if _, err := s.Member.Client.Put(ctx, s.key(img.Name), string(v)); err != nil {
		return fmt.Errorf("publish image %s: %w", img.Name, err)
	}
	return nil
}

// Unpublish tells the other appliances an image was removed.
func (s *ImageSync) Unpublish(ctx context.Context, name string) error {
	if _, err := s.Member.Client.Delete(ctx, s.key(name)); err != nil {
		return fmt.Errorf("unpublish image %s: %w", name, err)
	}
	return nil
}

// Run follows the records until ctx ends.
func (s *ImageSync) Run(ctx context.Context) error {
	retry := s.Retry
	if retry <= 0 {
		retry = 10 * time.Second
	}
	for ctx.Err() == nil {
		rev, pending, err := s.catchUp(ctx)
		if err == nil {
			err = s.follow(ctx, rev, pending, retry)
		}
		if err != nil && ctx.Err() == nil {
			s.Member.log().Warn("image sync: starting over", "err", err)
			sleep(ctx, time.Second)
		}
	}
	return nil
}

// catchUp adopts every published record this appliance lacks and returns
// the revision read at, and the records that failed.
func (s *ImageSync) catchUp(ctx context.Context) (int64, bool, error) {
	resp, err := s.Member.Client.Get(ctx, s.Member.prefix()+"images/", clientv3.WithPrefix())
	if err != nil {
		return 0, false, err
	}
	pending := false
	for _, kv := range resp.Kvs {
		if !s.adopt(ctx, kv.Value) {
			pending = true
		}
	}
	return resp.Header.Revision, pending, nil
}

// follow applies changes after rev; with records pending it returns after
// retry, so that catchUp tries them again.
func (s *ImageSync) follow(ctx context.Context, rev int64, pending bool, retry time.Duration) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	if pending {
		time.AfterFunc(retry, cancel)
	}
	for resp := range s.Member.Client.Watch(wctx, s.Member.prefix()+"images/", clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if err := resp.Err(); err != nil {
			return err
		}
		for _, ev := range resp.Events {
			if ev.Type == clientv3.EventTypePut {
				if !s.adopt(ctx, ev.Kv.Value) {
					time.AfterFunc(retry, cancel)
				}
				continue
			}
			name := strings.TrimPrefix(string(ev.Kv.Key), s.Member.prefix()+"images/")
			if err := s.Store.Remove(ctx, name); err != nil && !errors.Is(err, images.ErrNotFound) {
				s.Member.log().Error("image sync: remove failed", "image", name, "err", err)
			}
		}
	}
	return nil
}

// adopt stores one published record here, unless it came from here.
func (s *ImageSync) adopt(ctx context.Context, v []byte) bool {
	var rec imageRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		s.Member.log().Error("image sync: undecodable record", "err", err)
		return true // trying again would not help
	}
	if rec.Origin == s.Member.ID {
		return true
	}
	if err := s.Store.Adopt(ctx, rec.Image, s.fetcher(rec.Origin)); err != nil {
		s.Member.log().Warn("image sync: not adopted yet", "image", rec.Image.Name, "err", err)
		return false
	}
	return true
}

// fetcher fetches blobs from the live appliances, the origin first.
func (s *ImageSync) fetcher(origin string) images.Fetch {
	return func(ctx context.Context, digest string) (io.ReadCloser, error) {
		list, err := s.Member.Appliances(ctx)
		if err != nil {
			return nil, err
		}
		var urls []string
		for _, a := range list {
			switch {
			case a.ID == s.Member.ID || a.URL == "":
			case a.ID == origin:
				urls = append([]string{a.URL}, urls...)
			default:
				urls = append(urls, a.URL)
			}
		}
		errs := []error{fmt.Errorf("no live peer has blob %s", digest)}
		for _, u := range urls {
			body, err := s.get(ctx, u, digest)
			if err == nil {
				return body, nil
			}
			errs = append(errs, err)
		}
		return nil, errors.Join(errs...)
	}
}

func (s *ImageSync) get(ctx context.Context, base, digest string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+machineapi.PathPeerBlob+digest, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+machineapi.PeerBlobToken(s.Key, digest))
	c := s.HTTP
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Minute}
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %s", req.URL, resp.Status)
	}
	return resp.Body, nil
}
