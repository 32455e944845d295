package tftp

import "sync/atomic"

// Stats is a snapshot of a Server's counters since it was created; the web
// layer exports them to Prometheus.
type Stats struct {
	// TransfersOK counts files sent whole.
	TransfersOK uint64
	// TransfersFailed counts transfers that started and broke off: timeouts,
	// errors sent by the client, shutdown.
	TransfersFailed uint64
	// TransfersRefused counts requests answered with a TFTP error before any
	// data: missing files, names outside the roots, write requests.
	TransfersRefused uint64
	// SizeProbes counts clients that took the option acknowledgement (with
	// the file size) and then ended the transfer themselves, as PXE ROMs do
	// before the real download. They are normal, not failures.
	SizeProbes uint64
	// BytesSent counts file bytes sent, those of failed transfers included.
	BytesSent uint64
}

type counters struct {
	ok, failed, refused, probes, bytes atomic.Uint64
}

// Stats returns the counters; safe to call while the server runs.
func (s *Server) Stats() Stats {
	c := &s.counters
	return Stats{
		TransfersOK:      c.ok.Load(),
		TransfersFailed:  c.failed.Load(),
		TransfersRefused: c.refused.Load(),
		SizeProbes:       c.probes.Load(),
		BytesSent:        c.bytes.Load(),
	}
}
