package engine

// begin moves n to applying when all of its requires are correct, or to
// pending when not. Both happen under e.mu, together with finish's look at
// the dependents, so a dependent is never left pending without a wake-up.
func (e *Engine) begin(n *node) bool {
	e.mu.Lock()
	ready := true
	for _, d := range n.deps {
		ready = ready && d.state == StateOK
	}
	next := StateApplying
	if !ready {
		next = StatePending
	}
	n.state = next
	e.mu.Unlock()
	e.track.update(n.key, func(s *Status) { s.State, s.Err = next, nil })
	return ready
}

// finish records the outcome of a check and passes it on: a real change
// sends a refresh along notify edges and wakes every dependent; settling
// wakes the dependents still waiting for it.
func (e *Engine) finish(n *node, o outcome) {
	next := StateOK
	switch {
	case o.err != nil:
		next = StateFailed
	case o.drift:
		next = StateDrift
	}
	changed := o.err == nil && n.owed
	if changed {
		n.owed = false
	}
	e.mu.Lock()
	n.state = next
	if next == StateOK {
		e.passOn(n, changed)
	}
	e.mu.Unlock()
	e.track.update(n.key, func(s *Status) {
		s.State, s.Err = next, o.err
		s.Checks += o.checks
		if changed {
			s.Applies++
			s.LastChange = e.now()
		}
	})
}

// passOn wakes n's dependents; e.mu is held.
func (e *Engine) passOn(n *node, changed bool) {
	if changed {
		for _, d := range n.notify {
			d.refresh = true
		}
	}
	for _, d := range n.down {
		if changed || d.state != StateOK {
			d.wake()
		}
	}
}

// setFailed marks n failed while it waits to retry or to watch again.
func (e *Engine) setFailed(n *node, err error) {
	e.mu.Lock()
	n.state = StateFailed
	e.mu.Unlock()
	e.track.update(n.key, func(s *Status) { s.State, s.Err = StateFailed, err })
}
