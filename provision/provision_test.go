package provision

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/images/partition"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// TestDeployRoundTrip walks a host through every operation of a deploy and
// checks that each is one transaction: one store revision, one event.
func TestDeployRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := mac(1)
	f.ready(m)
	step := func(name string, op func() error) {
		t.Helper()
		rev, n := f.store.Revision(), len(f.events(m))
		if err := op(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := f.store.Revision(); got != rev+1 {
			t.Errorf("%s: %d transactions, want 1", name, got-rev)
		}
		if got := len(f.events(m)); got != n+1 {
			t.Errorf("%s: %d events, want 1", name, got-n)
		}
	}
	step("request deploy", func() error {
		_, err := f.lc.RequestDeploy(ctx, m, DeployRequest{Image: "debian", SSHKeys: []string{testKey}}, "operator")
		return err
	})
	h := f.host(m)
	if h.State != inventory.StateDeploying || h.Image != "debian" || h.Deploy == nil || !h.Deploy.HasSeed || h.Deploy.Seed != nil {
		t.Fatalf("after the request: %+v", h)
	}
	seedGen := h.Credentials.AgentGen

	// Next only reads: it is asked again and again.
	rev := f.store.Revision()
	n, err := f.lc.Next(ctx, m)
	if err != nil || n.Action != machineapi.ActionDeploy || n.Deploy == nil {
		t.Fatalf("next: %+v %v", n, err)
	}
	again, _ := f.lc.Next(ctx, m)
	if f.store.Revision() != rev || *again.Deploy != *n.Deploy {
		t.Fatal("asking for the next action wrote, or changed its answer")
	}
	d := n.Deploy
	if d.ImageURL != "http://10.0.0.1:8081/machine/v1/image?mac="+m || d.SHA256 != "ab" || d.Size != 1<<30 || d.Compression != "zstd" {
		t.Errorf("deploy: %+v", d)
	}
	sd, err := f.lc.ClaimSeed(ctx, m, "10.0.0.9")
	if err != nil {
		t.Fatalf("claim the seed: %v", err)
	}
	token := seedValue(t, sd.Rackboot, "token")
	if err := f.lc.VerifyAgentToken(ctx, token, m); err != nil {
		t.Fatalf("the seed's agent token: %v", err)
	}
	if !strings.Contains(sd.UserData, "echo '"+token+"' >/etc/rackboot/agent.token") {
		t.Errorf("the agent's script in user-data does not write the token:\n%s", sd.UserData)
	}
	// The seed at rest holds no credential: the token goes in as it is
	// handed out.
	stored, err := f.store.DeploySeed(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{stored.UserData, stored.Rackboot, stored.MetaData, stored.NetworkConfig} {
		if strings.Contains(file, token) {
			t.Fatalf("the stored seed holds the agent token:\n%s", file)
		}
	}

	// Progress is data on the host, never an event.
	rev, nev := f.store.Revision(), len(f.events(m))
	for i := int64(1); i <= 5; i++ {
		if err := f.lc.Progress(ctx, m, machineapi.Progress{Written: i << 20, Total: 5 << 20, RateBPS: 1e6}); err != nil {
			t.Fatal(err)
		}
	}
	if h := f.host(m); h.Progress == nil || h.Progress.Written != 5<<20 || h.Progress.Percent() != 100 {
		t.Errorf("progress: %+v", h.Progress)
	}
	if len(f.events(m)) != nev || f.store.Revision() != rev+5 {
		t.Errorf("progress wrote %d events", len(f.events(m))-nev)
	}
	_, bootTok := f.claim(m) // the same installer asks again: the same token
	if err := f.lc.VerifyBootToken(ctx, bootTok, m); err != nil {
		t.Fatalf("boot token while deploying: %v", err)
	}
	step("deployed", func() error {
		_, err := f.lc.Deployed(ctx, m, machineapi.Deployed{Disk: "/dev/vda", Written: 1 << 30, Seconds: 2})
		return err
	})
	if err := f.lc.VerifyBootToken(ctx, bootTok, m); !errors.Is(err, inventory.ErrUnauthorized) {
		t.Fatalf("the installer's token after deployed: %v, want refused", err)
	}
	step("check-in", func() error {
		_, err := f.lc.CheckIn(ctx, m, machineapi.AgentReport{Status: machineapi.AgentConverged})
		return err
	})
	h = f.host(m)
	if h.State != inventory.StateActive || h.Agent == nil || h.Credentials.AgentGen != seedGen {
		t.Fatalf("after check-in: %+v", h)
	}
	if err := f.lc.VerifyAgentToken(ctx, token, m); err != nil {
		t.Fatalf("the seed's token after check-in: %v", err)
	}
	step("release", func() error {
		_, err := f.lc.Release(ctx, m, true, "", "operator")
		return err
	})
	if h := f.host(m); h.State != inventory.StateReady || h.Wipe == nil {
		t.Fatalf("after release: %+v", h)
	}
	if err := f.lc.VerifyAgentToken(ctx, token, m); !errors.Is(err, inventory.ErrUnauthorized) {
		t.Fatalf("the agent token of a released host: %v, want refused", err)
	}
	if n, _ := f.lc.Next(ctx, m); n.Action != machineapi.ActionWipe {
		t.Fatalf("next after release --wipe: %+v", n)
	}
	step("wiped", func() error {
		_, err := f.lc.Wiped(ctx, m, machineapi.Wiped{Disks: []machineapi.WipedDisk{{Disk: "/dev/vda", Table: "gpt", Partitions: 3, Zeroed: 8 << 20}}})
		return err
	})
	if h := f.host(m); h.Wipe != nil || h.State != inventory.StateReady {
		t.Fatalf("after wiped: %+v", h)
	}
}

// seedValue reads "key=value" from the seed's rackboot.seed file.
func seedValue(t *testing.T, file, key string) string {
	t.Helper()
	for _, line := range strings.Split(file, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return v
		}
	}
	t.Fatalf("no %s in the seed:\n%s", key, file)
	return ""
}

// TestRequestDeployRefusals: every refusal stores nothing.
func TestRequestDeployRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.imgs["long"] = images.Image{Name: "long", Compression: images.Zstd, DecodeWindow: 1 << 31}
	f.imgs["full"] = images.Image{Name: "full", Layout: &partition.Layout{Table: partition.MBR, FreeEntries: 0,
		Partitions: []partition.Partition{{Number: 1}, {Number: 2}, {Number: 3}, {Number: 4}}}}
	f.ready(mac(1))
	f.store.CreateHost(ctx, inventory.Host{MAC: mac(2)}, "test")
	for _, tc := range []struct {
		name, mac string
		req       DeployRequest
		want      error
		says      string
	}{
		{"no such image", mac(1), DeployRequest{Image: "nope"}, images.ErrNotFound, `"nope" not found`},
		{"not ready", mac(2), DeployRequest{Image: "debian"}, inventory.ErrConflict, "needs a ready host"},
		{"unknown host", mac(3), DeployRequest{Image: "debian"}, inventory.ErrNotFound, ""},
		{"not an ssh key", mac(1), DeployRequest{Image: "debian", SSHKeys: []string{testKey, `ssh-ed25519 "x"`}}, inventory.ErrInvalid, "ssh_keys[1]"},
		{"user-data", mac(1), DeployRequest{Image: "debian", UserData: "runcmd: []\n"}, inventory.ErrInvalid, "user-data host starts with"},
		{"user-data yaml", mac(1), DeployRequest{Image: "debian", UserData: "#cloud-config\na: [\n"}, inventory.ErrInvalid, "user-data host: yaml"},
		{"mbr with four primaries", mac(1), DeployRequest{Image: "full"}, inventory.ErrConflict, "cannot be seeded: no room for a seed partition: the image's MBR has four primary partitions"},
		{"window larger than the machine", mac(1), DeployRequest{Image: "long"}, inventory.ErrConflict, "needs 2304 MiB of memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := f.store.Host(ctx, tc.mac)
			nev := 0
			if before.MAC != "" {
				nev = len(f.events(tc.mac))
			}
			rev := f.store.Revision()
			_, err := f.lc.RequestDeploy(ctx, tc.mac, tc.req, "operator")
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %v, want %v saying %q", err, tc.want, tc.says)
			}
			if before.MAC != "" {
				f.unchanged(tc.mac, before, nev, rev)
			}
		})
	}
}

// TestNextFailsARemovedImage: a deploying host whose image went away is
// told to fail, and nothing is written by asking.
func TestNextFailsARemovedImage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.ready(mac(1))
	if _, err := f.lc.RequestDeploy(ctx, mac(1), DeployRequest{Image: "debian"}, "operator"); err != nil {
		t.Fatal(err)
	}
	delete(f.imgs, "debian")
	rev := f.store.Revision()
	n, err := f.lc.Next(ctx, mac(1))
	if err != nil || n.Action != machineapi.ActionFail || !strings.Contains(n.Cause, `"debian" is no longer in the image store`) {
		t.Fatalf("next = %+v, %v", n, err)
	}
	if f.store.Revision() != rev {
		t.Fatal("next wrote")
	}
	if h, err := f.lc.Failed(ctx, mac(1), n.Cause); err != nil || h.State != inventory.StateFailed || h.Failure.From != inventory.StateDeploying {
		t.Fatalf("failed: %+v %v", h, err)
	}
}

func TestClaimEnlistsAndReinspects(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h, tok := f.claim(mac(1))
	if h.State != inventory.StateInspecting || h.Credentials.UID == "" || tok == "" {
		t.Fatalf("unknown MAC claimed: %+v %q", h, tok)
	}
	if ev := f.events(mac(1)); len(ev) != 1 || ev[0].Type != inventory.EventCreated || ev[0].To != inventory.StateInspecting {
		t.Fatalf("enlisting is one created event: %+v", ev)
	}
	if err := f.lc.VerifyBootToken(ctx, tok, mac(1)); err != nil {
		t.Fatal(err)
	}
	f.ready(mac(2))
	// A ready host whose installer reboots (armed by a power action) is
	// inspected again.
	if _, err := f.lc.ArmBoot(ctx, mac(2), "", "op"); err != nil {
		t.Fatal(err)
	}
	if h, _, err := f.lc.Claim(ctx, mac(2), machineapi.Claim{Nonce: "a-new-installer-run-1"}, "10.0.0.9"); err != nil || h.State != inventory.StateInspecting {
		t.Fatalf("a ready host rebooted into the installer: %+v %v", h, err)
	}
	off := newFixture(t, func(c *Config) { c.Boot.NoDiscovery = true })
	if _, _, err := off.lc.Claim(ctx, mac(3), machineapi.Claim{Nonce: "0123456789abcdef0123"}, "x"); !errors.Is(err, ErrNoDiscovery) {
		t.Fatalf("claim with discovery off: %v", err)
	}
	if _, err := off.lc.Enlist(ctx, mac(3), "dhcp"); !errors.Is(err, ErrNoDiscovery) {
		t.Fatalf("enlist with discovery off: %v", err)
	}
	if _, _, err := f.lc.Claim(ctx, mac(9), machineapi.Claim{Nonce: "short"}, "x"); !errors.Is(err, inventory.ErrInvalid) {
		t.Fatalf("claim with a short nonce: %v", err)
	}
}

// TestAgentToken: a token is good for its own host, UID and generation
// only; no single changed byte gets past the check.
func TestAgentToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.lc.AgentToken(ctx, mac(1), false, "op"); !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("token for an unknown host: %v", err)
	}
	f.store.CreateHost(ctx, inventory.Host{MAC: mac(1)}, "test")
	f.store.CreateHost(ctx, inventory.Host{MAC: mac(2)}, "test")
	tok, err := f.lc.AgentToken(ctx, mac(1), false, "op")
	if err != nil {
		t.Fatal(err)
	}
	ok := func(tok, m string) bool { return f.lc.VerifyAgentToken(ctx, tok, m) == nil }
	if !ok(tok, mac(1)) || ok(tok, mac(2)) || ok("", mac(1)) || ok(tok, "52:54:00:ff:ff:ff") {
		t.Fatal("token refused for its own host, or accepted for another")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range raw {
		bad := append([]byte(nil), raw...)
		bad[i] ^= 0x01
		if ok(base64.RawURLEncoding.EncodeToString(bad), mac(1)) {
			t.Fatalf("token with byte %d flipped accepted", i)
		}
	}
	tok2, _ := f.lc.AgentToken(ctx, mac(1), false, "op")
	if tok2 != tok || !ok(tok, mac(1)) {
		t.Fatal("a second token without revoke differs, or ended the first")
	}
	tok3, _ := f.lc.AgentToken(ctx, mac(1), true, "op")
	if ok(tok, mac(1)) || !ok(tok3, mac(1)) {
		t.Fatal("revoke left the earlier token valid, or refused the new one")
	}
	// A clock stepping back or forward changes nothing: no time is in it.
	f.now = f.now.Add(-400 * 24 * time.Hour)
	if !ok(tok3, mac(1)) {
		t.Fatal("token refused after the clock stepped back")
	}
	f.now = f.now.Add(800 * 24 * time.Hour)
	if !ok(tok3, mac(1)) {
		t.Fatal("token refused after the clock stepped forward")
	}
	f.store.DeleteHost(ctx, mac(1), "test")
	if ok(tok3, mac(1)) {
		t.Fatal("token of a deleted host accepted")
	}
	f.store.CreateHost(ctx, inventory.Host{MAC: mac(1)}, "test")
	if ok(tok3, mac(1)) {
		t.Fatal("token of the host before it was re-enrolled accepted")
	}
	if ev := f.events(mac(2)); len(ev) != 1 {
		t.Fatalf("host 2's log: %+v", ev)
	}
}

func TestExpireInProgress(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.claim(mac(1))
	f.store.CreateHost(ctx, inventory.Host{MAC: mac(2)}, "test")
	f.now = f.now.Add(31 * time.Minute) // rackboot was down past the timeout
	n, err := f.lc.Expire(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Expire = %d, %v; want 1", n, err)
	}
	h := f.host(mac(1))
	if h.State != inventory.StateFailed || h.Failure == nil || h.Failure.From != inventory.StateInspecting || !strings.Contains(h.Failure.Cause, "timed out") {
		t.Fatalf("expired host = %+v", h)
	}
	if h2 := f.host(mac(2)); h2.State != inventory.StateDiscovered {
		t.Fatalf("host not in progress was touched: %+v", h2)
	}
	if h, err := f.lc.Retry(ctx, mac(1), "", "op"); err != nil || h.State != inventory.StateInspecting {
		t.Fatalf("retry to the state left: %+v %v", h, err)
	}
	if _, err := f.lc.Retry(ctx, mac(2), "", "op"); !errors.Is(err, inventory.ErrConflict) {
		t.Fatalf("retry of a host that did not fail: %v", err)
	}
}

func TestFailedWipeKeepsRequest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.ready(mac(1))
	f.lc.Release(ctx, mac(1), true, "", "op")
	h, err := f.lc.Failed(ctx, mac(1), "wipe: /dev/vda busy")
	if err != nil || h.State != inventory.StateFailed || h.Failure.From != inventory.StateReady || h.Wipe == nil {
		t.Fatalf("failed wipe: %+v %v", h, err)
	}
	if h, _ := f.lc.Retry(ctx, mac(1), "", "op"); h.State != inventory.StateReady || h.Wipe == nil {
		t.Fatalf("retry of a failed wipe: %+v", h)
	}
	if _, err := f.lc.Failed(ctx, mac(2), "x"); !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("failed for an unknown host: %v", err)
	}
}

func TestCheckInKeepsFewResources(t *testing.T) {
	rep := machineapi.AgentReport{Status: "converged"}
	for i := range maxStoredResources + 10 {
		st := "ok"
		if i%100 == 0 {
			st = "failed"
		}
		rep.Resources = append(rep.Resources, inventory.ResourceStatus{Resource: "file:/" + string(rune('a'+i%26)), State: st})
	}
	st := agentStatus(&rep)
	if len(st.Resources) != 3 || !strings.Contains(st.Message, "266 resources") {
		t.Fatalf("kept %d resources, message %q", len(st.Resources), st.Message)
	}
}

// TestRedeployRevokes: a new deploy's seed carries a new agent token and
// ends the one the previous installation held.
func TestRedeployRevokes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.ready(mac(1))
	old, _ := f.lc.AgentToken(ctx, mac(1), false, "op")
	if _, err := f.lc.RequestDeploy(ctx, mac(1), DeployRequest{Image: "debian"}, "op"); err != nil {
		t.Fatal(err)
	}
	sd, err := f.lc.ClaimSeed(ctx, mac(1), "10.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	if f.lc.VerifyAgentToken(ctx, old, mac(1)) == nil {
		t.Fatal("a redeploy left the previous installation's token valid")
	}
	if err := f.lc.VerifyAgentToken(ctx, seedValue(t, sd.Rackboot, "token"), mac(1)); err != nil {
		t.Fatal(err)
	}
}

// TestDeploySeed: the seed holds a new instance-id per deploy, the SSH
// keys in meta-data, the user-data parts the host's labels select (by
// name) and then the request's own, and the host's static network.
func TestDeploySeed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := mac(1)
	f.ready(m)
	f.store.ModifyHost(ctx, m, 0, func(h *inventory.Host) (inventory.Edit, error) {
		h.Hostname, h.Labels = "web-1", map[string]string{"role": "web"}
		h.Network = &inventory.HostNetwork{Address: "10.0.0.5/24", Gateway: "10.0.0.1"}
		return inventory.Edit{}, nil
	})
	for _, u := range []inventory.UserData{
		{Name: "b-web", Selector: map[string]string{"role": "web"}, Body: "#cloud-config\npackages: [nginx]\n"},
		{Name: "a-all-web", Selector: map[string]string{"role": "web"}, Body: "#!/bin/sh\necho a\n"},
		{Name: "db", Selector: map[string]string{"role": "db"}, Body: "#cloud-config\npackages: [postgresql]\n"},
	} {
		if _, _, err := f.store.PutUserData(ctx, u, 0, "test"); err != nil {
			t.Fatal(err)
		}
	}
	h, err := f.lc.RequestDeploy(ctx, m, DeployRequest{Image: "debian", SSHKeys: []string{testKey}, UserData: "#cloud-config\nhostname: x\n"}, "operator")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(h.Deploy.UserData, ","); got != "host,a-all-web,b-web" {
		t.Errorf("user-data parts %q, want host,a-all-web,b-web", got)
	}
	sd, err := f.store.DeploySeed(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	first := h.Deploy.InstanceID
	for _, want := range []string{"instance-id: " + first + "\n", "local-hostname: web-1\n", "public-keys:\n    - " + testKey + "\n"} {
		if !strings.Contains(sd.MetaData, want) {
			t.Errorf("meta-data lacks %q:\n%s", want, sd.MetaData)
		}
	}
	for _, want := range []string{`filename="01-host"`, `filename="02-a-all-web"`, `filename="03-b-web"`, `filename="99-rackboot-agent.sh"`} {
		if !strings.Contains(sd.UserData, want) {
			t.Errorf("user-data lacks %q", want)
		}
	}
	if strings.Contains(sd.UserData, base64.StdEncoding.EncodeToString([]byte("#cloud-config\npackages: [postgresql]\n"))) {
		t.Error("the db part went into a web host's seed")
	}
	if !strings.Contains(sd.NetworkConfig, "10.0.0.5/24") || !strings.Contains(sd.NetworkConfig, "via: 10.0.0.1") {
		t.Errorf("network-config:\n%s", sd.NetworkConfig)
	}
	// A second deploy gets a new instance-id, so cloud-init runs again.
	if _, err := f.lc.Deployed(ctx, m, machineapi.Deployed{Disk: "/dev/vda"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.lc.Release(ctx, m, false, "", "operator"); err != nil {
		t.Fatal(err)
	}
	h2, err := f.lc.RequestDeploy(ctx, m, DeployRequest{Image: "debian"}, "operator")
	if err != nil || h2.Deploy.InstanceID == first || !strings.HasPrefix(h2.Deploy.InstanceID, "rackboot-525400") {
		t.Errorf("second deploy: instance-id %q (first %q), %v", h2.Deploy.InstanceID, first, err)
	}
}
