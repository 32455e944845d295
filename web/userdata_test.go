package web

import (
	"strings"
	"testing"

	"github.com/rackboot/rackboot/inventory"
)

// TestUserDataCRUD: parts are checked before they are stored (a refusal
// stores nothing), listed with the hosts they select, replaced, and
// removed.
func TestUserDataCRUD(t *testing.T) {
	a := newAPITest(t)
	ctx := t.Context()
	a.store.CreateHost(ctx, inventory.Host{MAC: "52:54:00:00:00:01", Labels: map[string]string{"role": "web"}}, "test")
	for _, tc := range []struct {
		method, path, body string
		code               int
		says               string
	}{
		{"POST", "/api/v1/user-data", `{"name":"web","selector":{"role":"web"},"body":"packages: [nginx]\n"}`, 400, "want a cloud-config (first line #cloud-config) or a script"},
		{"POST", "/api/v1/user-data", `{"name":"web","selector":{"role":"web"},"body":"#cloud-config\na: [\n"}`, 400, "user-data web: yaml: line"},
		{"POST", "/api/v1/user-data", `{"name":"Bad Name","body":"#!/bin/sh\n"}`, 400, "name"},
		{"PUT", "/api/v1/user-data/x", `{"name":"y","body":"#!/bin/sh\n"}`, 400, "differs from the path"},
		{"GET", "/api/v1/user-data/web", ``, 404, "user-data web"},
	} {
		if code, body := a.call(tc.method, tc.path, tc.body); code != tc.code || !strings.Contains(body, tc.says) {
			t.Errorf("%s %s %s: %d %s, want %d saying %q", tc.method, tc.path, tc.body, code, body, tc.code, tc.says)
		}
	}
	if all, _ := a.store.UserDatas(ctx); len(all) != 0 {
		t.Fatalf("refused parts were stored: %+v", all)
	}
	code, body := a.call("POST", "/api/v1/user-data", `{"name":"web","selector":{"role":"web"},"body":"#cloud-config\npackages: [nginx]\n"}`)
	if code != 201 || !strings.Contains(body, `"selected_hosts": 1`) {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := a.call("POST", "/api/v1/user-data", `{"name":"web","body":"#!/bin/sh\n"}`); code != 409 {
		t.Errorf("create again: %d %s", code, body)
	}
	if code, body := a.call("PUT", "/api/v1/user-data/web", `{"selector":{"role":"db"},"body":"#!/bin/sh\necho db\n"}`); code != 200 || !strings.Contains(body, `"selected_hosts": 0`) {
		t.Errorf("replace: %d %s", code, body)
	}
	if code, body := a.call("GET", "/api/v1/user-data", ``); code != 200 || !strings.Contains(body, `echo db`) {
		t.Errorf("list: %d %s", code, body)
	}
	if code, _ := a.call("DELETE", "/api/v1/user-data/web", ``); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := a.call("DELETE", "/api/v1/user-data/web", ``); code != 404 {
		t.Errorf("delete again: %d", code)
	}
}

// TestHostNetwork: a static address for the installed OS is set at
// enrolment or by PATCH, checked, and cleared with null.
func TestHostNetwork(t *testing.T) {
	a := newAPITest(t)
	if code, body := a.call("POST", "/api/v1/hosts", `{"mac":"52:54:00:00:00:07","network":{"address":"10.0.0.5/24","gateway":"10.0.0.1","dns":["10.0.0.2"]}}`); code != 201 || !strings.Contains(body, `"address": "10.0.0.5/24"`) {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := a.call("PATCH", "/api/v1/hosts/52:54:00:00:00:07", `{"network":{"address":"10.0.0.5"}}`); code != 400 || !strings.Contains(body, "network.address") {
		t.Errorf("bad address: %d %s", code, body)
	}
	if code, body := a.call("PATCH", "/api/v1/hosts/52:54:00:00:00:07", `{"network":null}`); code != 200 || strings.Contains(body, `"network"`) {
		t.Errorf("clear: %d %s", code, body)
	}
}
