package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Stream timing. Changes are coalesced per host for flushInterval, so a
// burst of writes to one host sends its row once, and a burst across many
// hosts sends one message.
const (
	flushInterval  = 100 * time.Millisecond
	healthInterval = 5 * time.Second
	keepAlive      = 20 * time.Second
)

// live streams server-sent events from the Store's change feed: for a
// list page (its filter, sort and page as the list's URL has them), the
// page's order and the rows that changed or entered it, rendered by the
// same template as the page, and the counts; with ?mac=, the live sections
// and newest events of that host. Either is sent once at the start too,
// so a page that reconnects is brought up to date. When the feed drops
// this subscriber for falling behind, the stream says "resync" and ends;
// the browser reconnects and gets the whole page again.
func (d *Dashboard) live(w http.ResponseWriter, r *http.Request) error {
	s, err := d.newStream(w, r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	feed := d.cfg.Store.Subscribe(ctx)
	s.heard = time.Now()
	if err := s.changes(ctx, nil); err != nil {
		return err
	}
	alive := time.NewTicker(keepAlive)
	defer alive.Stop()
	health := time.NewTicker(healthInterval)
	defer health.Stop()
	pending := make(map[string]inventory.Change)
	var flush <-chan time.Time // armed by the first pending change, so an idle stream sleeps
	for {
		select {
		case <-ctx.Done():
			return nil
		case c, ok := <-feed:
			if !ok {
				return s.send("resync", map[string]string{})
			}
			if !s.wants(c.Host.MAC) {
				continue
			}
			s.heard = time.Now()
			pending[c.Host.MAC] = c
			if flush == nil {
				// A page that is costly to read (a sort over every
				// host) is read at most a third of the time.
				flush = time.After(max(flushInterval, 2*s.cost))
			}
		case <-flush:
			flush = nil
			start := time.Now()
			if err := s.changes(ctx, pending); err != nil {
				return err
			}
			s.cost = time.Since(start)
			clear(pending)
		case <-health.C:
			if err := s.health(); err != nil {
				return err
			}
		case <-alive.C:
			if err := s.comment("keep-alive"); err != nil {
				return err
			}
		}
	}
}

// stream is one open event stream.
type stream struct {
	d   *Dashboard
	w   http.ResponseWriter
	rc  *http.ResponseController
	mac string // host page mode when set
	// csrf is the session's, for the forms of a host page's actions.
	csrf string
	// q is the list page the stream follows, and last the MACs it
	// showed in the previous update.
	q    listQuery
	last []string
	// cost is how long the last update took to read and send.
	cost time.Duration
	// heard is when the stream subscribed or last heard of a change: a
	// page read after it includes every change the stream knows of.
	heard time.Time
}

func (d *Dashboard) newStream(w http.ResponseWriter, r *http.Request) (*stream, error) {
	s := &stream{d: d, w: w, rc: http.NewResponseController(w), csrf: d.sessions.csrf(sessionOf(r))}
	if m := r.URL.Query().Get("mac"); m != "" {
		mac, err := inventory.NormalizeMAC(m)
		if err != nil {
			return nil, err
		}
		s.mac = mac
	} else {
		q, err := parseListQuery(r.URL.Query(), d.cfg.PageSize)
		if err != nil {
			return nil, err
		}
		s.q = q
	}
	s.rc.SetWriteDeadline(time.Time{}) // a stream outlives any write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return nil, err
	}
	return s, s.rc.Flush()
}

func (s *stream) wants(mac string) bool { return s.mac == "" || s.mac == mac }

func (s *stream) send(event string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("live %s: %w", event, err)
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, b); err != nil {
		return nil // the browser went away
	}
	return s.rc.Flush()
}

func (s *stream) comment(text string) error {
	if _, err := fmt.Fprintf(s.w, ": %s\n\n", text); err != nil {
		return nil
	}
	return s.rc.Flush()
}

func (s *stream) changes(ctx context.Context, pending map[string]inventory.Change) error {
	if s.mac != "" {
		return s.hostChange(ctx, pending[s.mac])
	}
	return s.listChanges(ctx, pending)
}

func (s *stream) health() error {
	if s.d.cfg.Health == nil {
		return nil
	}
	html, err := s.d.views.fragment("health", s.d.cfg.Health.Health())
	if err != nil {
		return err
	}
	return s.send("health", map[string]string{"html": html})
}
