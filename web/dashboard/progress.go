package dashboard

import (
	"regexp"
	"strconv"

	"github.com/rackboot/rackboot/inventory"
)

// progressRE reads the cause of an inventory.EventDeployProgress event.
var progressRE = regexp.MustCompile(`written (\d+) of (\d+) bytes`)

// progress is the latest deploy progress report of a host.
type progress struct {
	Written, Total uint64
	Percent        int
	Cause          string
}

// deployProgress finds, in events newest first, the latest progress report
// since the host last changed state; nil when there is none, so a bar from
// an earlier deploy is never shown for a new one.
func deployProgress(events []inventory.Event) *progress {
	for _, e := range events {
		if e.Type == inventory.EventTransition {
			return nil
		}
		if e.Type == inventory.EventDeployProgress {
			return parseProgress(e.Cause)
		}
	}
	return nil
}

// parseProgress reads a progress cause; what it cannot read it still shows
// as text, without a bar.
func parseProgress(cause string) *progress {
	p := &progress{Cause: cause}
	m := progressRE.FindStringSubmatch(cause)
	if m == nil {
		return p
	}
	written, err1 := strconv.ParseUint(m[1], 10, 64)
	total, err2 := strconv.ParseUint(m[2], 10, 64)
	if err1 != nil || err2 != nil || total == 0 || written > total {
		return p
	}
	p.Written, p.Total = written, total
	p.Percent = int(written * 100 / total)
	return p
}
