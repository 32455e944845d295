package inventory

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestAgentConfigCRUD(t *testing.T) { eachStore(t, testAgentConfigCRUD) }

func testAgentConfigCRUD(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	c := AgentConfig{Name: "web", Selector: map[string]string{"role": "web"}, Body: "- kind: file\n  name: /x\n"}
	v1, created, err := db.PutAgentConfig(ctx, c, 0, "test")
	if err != nil || !created || v1.Version == 0 || v1.CreatedAt.IsZero() {
		t.Fatalf("put = %+v, %v, %v", v1, created, err)
	}
	same, created, err := db.PutAgentConfig(ctx, c, 0, "test")
	if err != nil || created || same.Version != v1.Version {
		t.Fatalf("storing the same config again = %+v, %v, %v; want no new version", same, created, err)
	}
	c.Body += "  mode: '0600'\n"
	v2, _, err := db.PutAgentConfig(ctx, c, v1.Version, "test")
	if err != nil || v2.Version <= v1.Version || !v2.CreatedAt.Equal(v1.CreatedAt) {
		t.Fatalf("replace = %+v, %v; want a higher version, same creation time", v2, err)
	}
	if _, _, err := db.PutAgentConfig(ctx, c, v1.Version, "test"); !errors.Is(err, ErrConflict) {
		t.Fatalf("put against a stale version: %v, want ErrConflict", err)
	}
	if _, err := db.CreateAgentConfig(ctx, c, "test"); !errors.Is(err, ErrExists) {
		t.Fatalf("create over an existing name: %v, want ErrExists", err)
	}
	if all, _ := db.AgentConfigs(ctx); len(all) != 1 || all[0].Body != c.Body {
		t.Fatalf("list = %+v", all)
	}
	if err := db.DeleteAgentConfig(ctx, "web", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AgentConfig(ctx, "web"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := db.DeleteAgentConfig(ctx, "web", "test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestAgentConfigValidation(t *testing.T) { eachStore(t, testAgentConfigValidation) }

func testAgentConfigValidation(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	for name, c := range map[string]AgentConfig{
		"bad name":         {Name: "Web Server"},
		"empty name":       {},
		"bad selector key": {Name: "a", Selector: map[string]string{"a b": "x"}},
		"huge body":        {Name: "a", Body: string(make([]byte, MaxAgentConfigBytes+1))},
	} {
		if _, _, err := db.PutAgentConfig(context.Background(), c, 0, "test"); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestSelectorSemantics(t *testing.T) {
	labels := map[string]string{"role": "web", "site": "lab"}
	for _, tc := range []struct {
		sel  map[string]string
		want bool
	}{
		{nil, false}, // empty selects nothing
		{map[string]string{}, false},
		{map[string]string{"role": "web"}, true},
		{map[string]string{"role": "web", "site": "lab"}, true},
		{map[string]string{"role": "web", "site": "prod"}, false},
		{map[string]string{"rack": ""}, false}, // absent is not empty
	} {
		c := AgentConfig{Selector: tc.sel}
		if got := c.Selects(labels); got != tc.want {
			t.Errorf("selector %v selects %v: %v, want %v", tc.sel, labels, got, tc.want)
		}
	}
}

// TestAgentConfigNotifiesSelectedHosts: a config change is logged on, and
// published for, exactly the hosts it selects before or after the change,
// which is what wakes their agents' long-polls.
func TestAgentConfigNotifiesSelectedHosts(t *testing.T) {
	eachStore(t, testAgentConfigNotifiesSelectedHosts)
}

func testAgentConfigNotifiesSelectedHosts(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	db.CreateHost(ctx, Host{MAC: mac(1), Labels: map[string]string{"role": "web"}}, "test")
	db.CreateHost(ctx, Host{MAC: mac(2), Labels: map[string]string{"role": "db"}}, "test")
	db.CreateHost(ctx, Host{MAC: mac(3)}, "test")
	feed := db.Subscribe(ctx)
	db.PutAgentConfig(ctx, AgentConfig{Name: "a", Selector: map[string]string{"role": "web"}}, 0, "op")
	db.PutAgentConfig(ctx, AgentConfig{Name: "a", Selector: map[string]string{"role": "db"}}, 0, "op") // moves from 1 to 2
	db.DeleteAgentConfig(ctx, "a", "op")
	var got []string
	for range 4 {
		select {
		case c := <-feed:
			if c.Event.Type != EventAgentConfig || c.Deleted || c.Host.MAC == "" {
				t.Fatalf("change = %+v", c)
			}
			got = append(got, c.Host.MAC)
		case <-time.After(time.Second):
			t.Fatalf("only %v published", got)
		}
	}
	// Changes in their order; the hosts of one change in any order (etcd
	// writes them side by side): the move publishes for 1 and 2.
	slices.Sort(got[1:3])
	want := []string{mac(1), mac(1), mac(2), mac(2)}
	if !slices.Equal(got, want) {
		t.Fatalf("published for %v, want %v (the middle two in any order)", got, want)
	}
	if ev, _ := db.Events(ctx, mac(3), 0); len(ev) != 1 {
		t.Fatalf("unselected host's log: %+v", ev)
	}
	if ev, _ := db.Events(ctx, mac(2), 0); len(ev) != 3 || ev[0].Cause != "config a removed" {
		t.Fatalf("host 2's log: %+v", ev)
	}
	if got, _ := db.AgentConfigsFor(ctx, map[string]string{"role": "db"}); len(got) != 0 {
		t.Fatalf("configs for a db host after delete: %+v", got)
	}
}
