package installer

import (
	"errors"
	"strings"
	"testing"
)

func TestConsoleLogger(t *testing.T) {
	var b strings.Builder
	log := NewConsoleLogger(&b).With("mac", "52:54:00:00:00:01")
	log.Info("reported")
	log.Error("report failed", "err", errors.New("dial tcp: refused"), "attempt", 3)
	want := "rackboot-installer: reported mac=52:54:00:00:00:01\n" +
		"rackboot-installer: report failed mac=52:54:00:00:00:01 err=\"dial tcp: refused\" attempt=3\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
