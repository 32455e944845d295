package web

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/bmc/virtual"
)

// TestPowerActions drives the power actions through a real Fleet and
// Controller against a virtual Redfish BMC.
func TestPowerActions(t *testing.T) {
	machine := &virtual.Simulated{}
	vbmc, err := virtual.New(virtual.Config{Username: "admin", Password: "pw", Machine: machine})
	if err != nil {
		t.Fatal(err)
	}
	bmcSrv := httptest.NewServer(vbmc)
	defer bmcSrv.Close()

	a := newAPITest(t)
	ctl := bmc.New(bmc.Config{MinGap: time.Millisecond, ConfirmInterval: 5 * time.Millisecond, Timeout: 5 * time.Second,
		Backoff: []time.Duration{10 * time.Millisecond}, MaxAttempts: 2})
	fleet := &bmc.Fleet{Store: a.store, Controller: ctl}
	s := &Server{Store: a.store, Lifecycle: lifecycle(a.store, nil), Token: testToken, Power: fleet}
	a.srv.Config.Handler = s.Handler()

	a.call("POST", "/api/v1/hosts", fmt.Sprintf(`{"mac":"52:54:00:00:00:01","bmc":{"address":"%s","protocol":"redfish","username":"admin","password":"pw"}}`, bmcSrv.URL))
	a.call("POST", "/api/v1/hosts", fmt.Sprintf(`{"mac":"52:54:00:00:00:02","bmc":{"address":"%s","protocol":"redfish","username":"admin","password":"bad"}}`, bmcSrv.URL))
	a.call("POST", "/api/v1/hosts", `{"mac":"52:54:00:00:00:03"}`)

	code, body := a.call("POST", "/api/v1/hosts/52:54:00:00:00:01/actions/power-on", "")
	if code != 200 || !strings.Contains(body, `"power_state": "on"`) || !machine.Powered() {
		t.Fatalf("power-on: %d %s (powered %v)", code, body, machine.Powered())
	}
	if code, body = a.call("POST", "/api/v1/hosts/52:54:00:00:00:01/actions/power-off", ""); code != 200 || machine.Powered() {
		t.Fatalf("power-off: %d %s", code, body)
	}
	host := strings.TrimPrefix(bmcSrv.URL, "http://")
	if code, body = a.call("POST", "/api/v1/hosts/52:54:00:00:00:02/actions/power-status", ""); code != 502 || !strings.Contains(body, host) || !strings.Contains(body, "authentication") {
		t.Fatalf("wrong password: %d %s, want 502 naming %s and the cause", code, body, host)
	}
	if code, body = a.call("POST", "/api/v1/hosts/52:54:00:00:00:03/actions/power-on", ""); code != 409 || !strings.Contains(body, "no BMC") {
		t.Fatalf("no BMC: %d %s", code, body)
	}
	ev, _ := a.store.Events(t.Context(), "52:54:00:00:00:01", 0)
	if len(ev) < 3 || ev[0].Type != "power" || ev[0].Cause != "power-off: off" {
		t.Fatalf("events: %+v", ev)
	}

	a.srv.Config.Handler = (&Server{Store: a.store, Lifecycle: lifecycle(a.store, nil), Token: testToken}).Handler()
	if code, _ := a.call("POST", "/api/v1/hosts/52:54:00:00:00:01/actions/power-on", ""); code != 501 {
		t.Fatalf("without power control: %d, want 501", code)
	}
}
