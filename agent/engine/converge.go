package engine

import "time"

// changed re-arms convergence after any status change; t.mu is held.
func (t *tracker) changed() {
	t.gen++
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	if t.unsettled > 0 {
		if t.converged {
			t.converged = false
			t.send(Event{Type: EventUnconverged})
		}
		return
	}
	if t.converged || t.closed {
		return
	}
	gen := t.gen
	t.timer = time.AfterFunc(t.quiet, func() { t.quietFor(gen) })
}

// quietFor fires when the quiet period after change gen has passed.
func (t *tracker) quietFor(gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if gen != t.gen || t.closed || t.unsettled > 0 || t.converged {
		return
	}
	t.converged = true
	t.send(Event{Type: EventConverged})
}

func (t *tracker) send(ev Event) {
	if t.emit == nil || t.closed {
		return
	}
	ev.Time = t.now()
	t.emit(ev)
}

// close stops the timer and every later event.
func (t *tracker) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.timer != nil {
		t.timer.Stop()
	}
}

// snapshot returns a copy of every status and whether the graph converged.
func (t *tracker) snapshot() ([]Status, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Status, 0, len(t.statuses))
	for _, s := range t.statuses {
		out = append(out, *s)
	}
	return out, t.converged
}

// sleep waits for d or until done is closed; it reports whether d passed.
func sleep(done <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-done:
		return false
	}
}
