package installer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rackboot/rackboot/machineapi"
)

func TestClientReport(t *testing.T) {
	var got machineapi.InspectReport
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/machine/v1/inspect" {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v", r.Header)
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, Token: "tok", MAC: "52:54:00:00:00:01"}
	f := machineapi.Facts{UUID: "u", MemoryBytes: 512 << 20, Disks: []machineapi.Disk{{Name: "vda", SizeBytes: 1 << 30}}}
	if err := c.Report(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if got.MAC != c.MAC || got.Facts.UUID != "u" || got.Facts.Disks[0].SizeBytes != 1<<30 {
		t.Errorf("server got %+v", got)
	}
}

func TestClientReportJSONNames(t *testing.T) {
	b, err := json.Marshal(machineapi.InspectReport{MAC: "m", Facts: &machineapi.Facts{CPUModel: "x", MemoryBytes: 1, Firmware: "bios",
		Disks: []machineapi.Disk{{Name: "vda", SizeBytes: 2}}, NICs: []machineapi.NIC{{Name: "eth0", MAC: "m", Up: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"mac":"m","facts":{"firmware":"bios","secure_boot":false,"cpu_model":"x","memory_bytes":1,` +
		`"disks":[{"name":"vda","size_bytes":2}],"nics":[{"name":"eth0","mac":"m","up":true}]}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestClientStatuses(t *testing.T) {
	tests := []struct {
		code int
		want error
	}{
		{http.StatusUnauthorized, ErrUnauthorized},
		{http.StatusBadRequest, ErrRejected},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error":"no"}`, tt.code)
		}))
		c := &Client{BaseURL: srv.URL, Token: "bad", MAC: "m"}
		if err := c.Report(context.Background(), machineapi.Facts{}); !errors.Is(err, tt.want) {
			t.Errorf("%d: err = %v, want %v", tt.code, err, tt.want)
		}
		srv.Close()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, Token: "t", MAC: "m"}
	var se *StatusError
	if _, err := c.Next(context.Background()); !errors.As(err, &se) || se.Code != 500 {
		t.Errorf("err = %v, want a StatusError 500", err)
	}
}

func TestClientNext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/machine/v1/next" || r.URL.Query().Get("mac") != "52:54:00:00:00:01" {
			t.Errorf("%s", r.URL)
		}
		w.Write([]byte(`{"action":"wait"}`))
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, Token: "t", MAC: "52:54:00:00:00:01"}
	n, err := c.Next(context.Background())
	if err != nil || n.Action != machineapi.ActionWait {
		t.Fatalf("next = %+v, %v", n, err)
	}
}

func TestClientConflict(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"host is ready, not inspecting"}`, http.StatusConflict)
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, Token: "t", MAC: "m"}
	if err := c.Report(context.Background(), machineapi.Facts{}); !errors.Is(err, ErrConflict) {
		t.Errorf("err = %v, want ErrConflict", err)
	}
}
