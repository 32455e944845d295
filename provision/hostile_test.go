package provision

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// TestClaimOnce: a boot's credentials go to the first claimant; a second
// claimant (another nonce) is refused, names who claimed and when, and the
// refusal is logged on the host once a minute however often it is tried;
// the first claimant may ask again and gets the same token.
func TestClaimOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := mac(1)
	f.lc.Enroll(ctx, inventory.Host{MAC: m}, "op")
	first := machineapi.Claim{Nonce: "the-real-installer-nonce"}
	h, tok, err := f.lc.Claim(ctx, m, first, "10.0.0.50")
	if err != nil || h.State != inventory.StateInspecting || h.Credentials.BootClaimedFrom != "10.0.0.50" {
		t.Fatalf("first claim: %+v %v", h.Credentials, err)
	}
	for i := range 30 {
		_, stolen, err := f.lc.Claim(ctx, m, machineapi.Claim{Nonce: "an-attacker-makes-this-up"}, "10.0.0.66")
		if !errors.Is(err, ErrClaimed) || stolen != "" || !strings.Contains(err.Error(), "claimed at") || !strings.Contains(err.Error(), "10.0.0.50") {
			t.Fatalf("claim %d by another: %q, %v", i, stolen, err)
		}
	}
	var refused []inventory.Event
	for _, e := range f.events(m) {
		if e.Type == "claim-refused" {
			refused = append(refused, e)
		}
	}
	if len(refused) != 1 || !strings.Contains(refused[0].Cause, "10.0.0.66") {
		t.Fatalf("refusal events: %+v, want one naming the claimant", refused)
	}
	f.now = f.now.Add(2 * time.Minute)
	f.lc.Claim(ctx, m, machineapi.Claim{Nonce: "an-attacker-makes-this-up"}, "10.0.0.66")
	if n := countType(f.events(m), "claim-refused"); n != 2 {
		t.Fatalf("%d refusal events a minute later, want 2", n)
	}
	_, again, err := f.lc.Claim(ctx, m, first, "10.0.0.50")
	if err != nil || again != tok {
		t.Fatalf("the claimant asks again: %q, %v; want its token", again, err)
	}
}

// TestTokensEndWithTheirGeneration: the boot token dies with an armed boot
// and when the installer's work is done; the agent token with a release,
// a new deploy or a retry of one; a replayed boot token of a deploy cannot
// clear a later wipe request.
func TestTokensEndWithTheirGeneration(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := mac(1)
	f.ready(m)
	_, boot1 := f.claim(m)
	f.lc.RequestDeploy(ctx, m, DeployRequest{Image: "debian"}, "op")
	if err := f.lc.VerifyBootToken(ctx, boot1, m); err != nil {
		t.Fatalf("the waiting installer's token after the deploy request: %v", err)
	}
	sd, _ := f.lc.ClaimSeed(ctx, m, "10.0.0.9")
	agent1 := seedValue(t, sd.Rackboot, "token")
	f.lc.Failed(ctx, m, "verify: checksum mismatch")
	if err := f.lc.VerifyBootToken(ctx, boot1, m); err != nil {
		t.Fatalf("the installer's token after a failed deploy: %v", err)
	}
	f.lc.Retry(ctx, m, "", "op")
	if f.lc.VerifyAgentToken(ctx, agent1, m) == nil {
		t.Fatal("a retried deploy left the first seed's agent token valid")
	}
	sd2, err := f.lc.ClaimSeed(ctx, m, "10.0.0.9")
	if err != nil {
		t.Fatalf("the retry's seed: %v", err)
	}
	agent2 := seedValue(t, sd2.Rackboot, "token")
	f.lc.Deployed(ctx, m, machineapi.Deployed{Disk: "/dev/vda"})
	f.lc.CheckIn(ctx, m, machineapi.AgentReport{Status: machineapi.AgentConverged})
	if f.lc.VerifyBootToken(ctx, boot1, m) == nil {
		t.Fatal("the deploy's boot token outlived the deploy")
	}
	if err := f.lc.VerifyAgentToken(ctx, agent2, m); err != nil {
		t.Fatalf("the agent token of the installed OS: %v", err)
	}
	f.lc.Release(ctx, m, true, "", "op")
	if f.lc.VerifyAgentToken(ctx, agent2, m) == nil {
		t.Fatal("the agent token outlived release --wipe")
	}
	// The replay of the issue: a boot token from the deploy on /wiped.
	if f.lc.VerifyBootToken(ctx, boot1, m) == nil {
		t.Fatal("a boot token of the deploy is good after release: it could clear the wipe request")
	}
	if h := f.host(m); h.Wipe == nil || !h.Credentials.BootArmed {
		t.Fatalf("after release --wipe: %+v", h.Credentials)
	}
}

// TestSeedOnce: the seed goes to the first installer that asks; a later
// boot (armed after the first claimed it) gets a new seed, and the first
// installer's claim is refused.
func TestSeedOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := mac(1)
	f.ready(m)
	f.lc.RequestDeploy(ctx, m, DeployRequest{Image: "debian"}, "op")
	first, err := f.lc.ClaimSeed(ctx, m, "10.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := f.lc.ClaimSeed(ctx, m, "10.0.0.9"); err != nil || again != first {
		t.Fatalf("the same boot asks again: %v", err)
	}
	// The machine is power-cycled through rackboot: a new boot, a new seed.
	f.lc.ArmBoot(ctx, m, "power-cycle", "op")
	f.lc.Claim(ctx, m, machineapi.Claim{Nonce: "the-second-installer-run"}, "10.0.0.9")
	second, err := f.lc.ClaimSeed(ctx, m, "10.0.0.9")
	if err != nil || second == first {
		t.Fatalf("the seed of a new boot: %v (same as the first: %v)", err, second == first)
	}
	if f.lc.VerifyAgentToken(ctx, seedValue(t, first.Rackboot, "token"), m) == nil {
		t.Fatal("the first seed's agent token outlived the new boot")
	}
	// A claim with no seed pending is refused.
	f.lc.Deployed(ctx, m, machineapi.Deployed{Disk: "/dev/vda"})
	if _, err := f.lc.ClaimSeed(ctx, m, "10.0.0.9"); !errors.Is(err, inventory.ErrConflict) {
		t.Fatalf("seed of a deployed host: %v", err)
	}
}

// TestDiscoveryLimits: at the cap, and beyond the rate, unknown MACs are
// not enlisted, by DHCP or by a claim, and both are counted.
func TestDiscoveryLimits(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Discovery = DiscoveryLimits{Max: 3, PerMinute: -1} })
	ctx := context.Background()
	for i := range 3 {
		if _, err := f.lc.Enlist(ctx, mac(i), "dhcp"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.lc.Enlist(ctx, mac(3), "dhcp"); !errors.Is(err, ErrDiscoveryLimit) {
		t.Fatalf("enlist at the cap: %v", err)
	}
	if _, _, err := f.lc.Claim(ctx, mac(4), machineapi.Claim{Nonce: "0123456789abcdef-x"}, "x"); !errors.Is(err, ErrDiscoveryLimit) {
		t.Fatalf("claim of an unknown MAC at the cap: %v", err)
	}
	// An operator's enrolment is not discovery.
	if _, err := f.lc.Enroll(ctx, inventory.Host{MAC: mac(5)}, "op"); err != nil {
		t.Fatal(err)
	}
	if st := f.lc.DiscoveryStats(); st.AtCap != 2 || !st.AtCapNow || st.Max != 3 {
		t.Fatalf("stats %+v", st)
	}

	r := newFixture(t, func(c *Config) { c.Discovery = DiscoveryLimits{Max: -1, PerMinute: 10} })
	n := 0
	for i := range 50 {
		if _, err := r.lc.Enlist(ctx, mac(i), "dhcp"); err == nil {
			n++
		}
	}
	if n != 10 || r.lc.DiscoveryStats().AtRate != 40 {
		t.Fatalf("%d enlisted in a burst of 50 at 10 a minute (stats %+v)", n, r.lc.DiscoveryStats())
	}
	r.now = r.now.Add(30 * time.Second)
	n = 0
	for i := 50; i < 100; i++ {
		if _, err := r.lc.Enlist(ctx, mac(i), "dhcp"); err == nil {
			n++
		}
	}
	if n != 5 {
		t.Fatalf("%d enlisted half a minute later, want 5", n)
	}
}

// TestReleaseOfReadyKeepsTheInstaller: a ready host's installer, which is
// up, keeps its token through a release (it carries out the wipe); a
// deployed host's release arms a new boot.
func TestReleaseOfReadyKeepsTheInstaller(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.ready(mac(1))
	_, tok := f.claim(mac(1))
	f.lc.Release(ctx, mac(1), true, "", "op")
	if err := f.lc.VerifyBootToken(ctx, tok, mac(1)); err != nil {
		t.Fatalf("the ready host's installer after release --wipe: %v", err)
	}
	if n, _ := f.lc.Next(ctx, mac(1)); n.Action != machineapi.ActionWipe {
		t.Fatalf("next: %+v", n)
	}
}

func countType(ev []inventory.Event, typ string) int {
	n := 0
	for _, e := range ev {
		if e.Type == typ {
			n++
		}
	}
	return n
}
