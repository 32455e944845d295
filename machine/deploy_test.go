package machine

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
	"github.com/rackboot/rackboot/provision"
)

// mbrImage is the smallest thing the image store takes for a disk: a
// sector with a boot signature, padded.
func mbrImage() []byte {
	b := make([]byte, 1<<20)
	b[510], b[511] = 0x55, 0xaa
	copy(b[4096:], "payload")
	return b
}

// importImage stores data in the image store as name.
func (b *bootTest) importImage(name string, data []byte) images.Image {
	b.t.Helper()
	img, err := b.imgs.Import(context.Background(), bytes.NewReader(data), images.ImportOptions{Name: name})
	if err != nil {
		b.t.Fatal(err)
	}
	return img
}

// deploying enrols a ready host and asks for its deploy with image, as an
// operator does.
func (b *bootTest) deploying(h inventory.Host, image string, keys ...string) {
	b.t.Helper()
	h.State = inventory.StateReady
	ctx := context.Background()
	if _, err := b.store.CreateHost(ctx, h, "test"); err != nil {
		b.t.Fatal(err)
	}
	if _, err := b.lc.RequestDeploy(ctx, h.MAC, provision.DeployRequest{Image: image, SSHKeys: keys}, "test"); err != nil {
		b.t.Fatal(err)
	}
}

// testKey is an SSH public key (its private half discarded).
const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFpQabVQCr8D44JBIvzOxdG+x+XOMRuI9+5H0hlMQlr2 op@desk"

func TestDeployFlow(t *testing.T) {
	b := newBootTest(t, nil)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(mbrImage())
	zw.Close()
	img := b.importImage("testos", gz.Bytes())
	ctx := context.Background()
	b.deploying(inventory.Host{MAC: testMAC, Hostname: "node7"}, "testos", testKey)
	tok := b.token(testMAC)
	auth := []string{"Authorization", "Bearer " + tok}

	code, body := b.get("/machine/v1/next?mac="+testMAC, auth...)
	var a machineapi.Next
	if err := json.Unmarshal([]byte(body), &a); code != 200 || err != nil || a.Action != "deploy" || a.Deploy == nil {
		t.Fatalf("next: %d %s", code, body)
	}
	d := a.Deploy
	if d.SHA256 != img.SHA256 || d.Size != 1<<20 || d.Compression != "gzip" || !strings.HasSuffix(d.ImageURL, "/machine/v1/image?mac="+testMAC) {
		t.Fatalf("deploy spec: %+v", d)
	}
	if code, _ := b.post("/machine/v1/seed?mac="+testMAC, "", `{}`); code != 401 {
		t.Fatalf("seed without a token: %d", code)
	}
	code, body = b.post("/machine/v1/seed?mac="+testMAC, tok, `{}`)
	var sd machineapi.Seed
	if err := json.Unmarshal([]byte(body), &sd); code != 200 || err != nil {
		t.Fatalf("seed: %d %s", code, body)
	}
	for _, want := range []string{"hostname=node7\n", "ssh_key=" + testKey + "\n", "url=http://10.9.0.1:8081\n", "mac=" + testMAC + "\n"} {
		if !strings.Contains(sd.Rackboot, want) {
			t.Errorf("rackboot.seed lacks %q:\n%s", want, sd.Rackboot)
		}
	}
	for _, want := range []string{"local-hostname: node7\n", "public-keys:\n    - " + testKey + "\n"} {
		if !strings.Contains(sd.MetaData, want) {
			t.Errorf("meta-data lacks %q:\n%s", want, sd.MetaData)
		}
	}
	if !strings.Contains(sd.UserData, "Content-Type: multipart/mixed") || !strings.Contains(sd.NetworkConfig, testMAC) {
		t.Errorf("user-data or network-config:\n%s\n%s", sd.UserData, sd.NetworkConfig)
	}
	if code, body := b.get("/machine/v1/image?mac="+testMAC, auth...); code != 200 || body != gz.String() {
		t.Fatalf("image: %d, %d bytes (want the stored blob)", code, len(body))
	}
	// The installer resumes a broken download with Range and If-Range
	// (the blob's ETag): the rest of the same blob, or the whole of a
	// different one.
	etag := `"` + img.StoredSHA256 + `"`
	if code, body := b.get("/machine/v1/image?mac="+testMAC, append(auth, "Range", "bytes=100-", "If-Range", etag)...); code != 206 || body != gz.String()[100:] {
		t.Fatalf("image from byte 100: %d, %d bytes", code, len(body))
	}
	if code, body := b.get("/machine/v1/image?mac="+testMAC, append(auth, "Range", "bytes=100-", "If-Range", `"other"`)...); code != 200 || body != gz.String() {
		t.Fatalf("image from byte 100 of another blob: %d, %d bytes", code, len(body))
	}
	if code, _ := b.get("/machine/v1/image?mac="+testMAC, "Authorization", "Bearer "+b.token("52:54:00:00:00:99")); code != 401 {
		t.Fatalf("image with another host's token: %d", code)
	}
	if code, body := b.post("/machine/v1/progress?mac="+testMAC, tok, `{"written":512,"total":1024,"rate_bps":2000000}`); code != 200 {
		t.Fatalf("progress: %d %s", code, body)
	}
	if h, _ := b.store.Host(ctx, testMAC); h.Progress == nil || h.Progress.Written != 512 || h.Progress.Total != 1024 || h.Progress.RateBPS != 2000000 {
		t.Fatalf("progress on the host: %+v", h.Progress)
	}
	if code, _ := b.post("/machine/v1/progress?mac="+testMAC, tok, `{"written":2048,"total":1024}`); code != 400 {
		t.Fatalf("impossible progress: %d", code)
	}
	if code, body := b.post("/machine/v1/deployed?mac="+testMAC, tok, `{"disk":"/dev/vda","written":1048576,"seconds":2}`); code != 200 {
		t.Fatalf("deployed: %d %s", code, body)
	}
	if h, _ := b.store.Host(ctx, testMAC); h.State != inventory.StateDeployed {
		t.Fatalf("after deployed: %s", h.State)
	}
	if code, _ := b.post("/machine/v1/deployed?mac="+testMAC, tok, `{"disk":"/dev/vda"}`); code != 401 {
		t.Fatalf("second deployed report: %d, want 401 (the installer's token ended with the deploy)", code)
	}
	agentTok := tokenFromSeed(t, sd.Rackboot)
	if code, body := b.post("/machine/v1/firstboot?mac="+testMAC, agentTok, `{"mac":"`+testMAC+`","event":"first-boot","firmware":"uefi"}`); code != 200 {
		t.Fatalf("firstboot: %d %s", code, body)
	}
	if code, _ := b.post("/machine/v1/firstboot?mac="+testMAC, tok+"x", `{}`); code != 401 {
		t.Fatalf("firstboot with a bad token: %d", code)
	}
	ev, _ := b.store.Events(ctx, testMAC, 0)
	var types []string
	for _, e := range ev {
		types = append(types, e.Type)
	}
	if got := strings.Join(types[:3], ","); got != "first-boot,transition,seed-claimed" {
		t.Fatalf("events: %v", types)
	}
}

func tokenFromSeed(t *testing.T, file string) string {
	for _, line := range strings.Split(file, "\n") {
		if v, ok := strings.CutPrefix(line, "token="); ok {
			return v
		}
	}
	t.Fatalf("no token in seed:\n%s", file)
	return ""
}

func TestDeployFailedReport(t *testing.T) {
	b := newBootTest(t, nil)
	ctx := context.Background()
	b.store.CreateHost(ctx, inventory.Host{MAC: testMAC, State: inventory.StateDeploying, Image: "x"}, "test")
	tok := b.token(testMAC)
	if code, _ := b.post("/machine/v1/failed?mac="+testMAC, tok, `{}`); code != 400 {
		t.Fatalf("failed without cause: %d", code)
	}
	if code, body := b.post("/machine/v1/failed?mac="+testMAC, tok, `{"cause":"verify: checksum mismatch"}`); code != 200 {
		t.Fatalf("failed: %d %s", code, body)
	}
	h, _ := b.store.Host(ctx, testMAC)
	if h.State != inventory.StateFailed || h.Failure.From != inventory.StateDeploying || h.Failure.Cause != "verify: checksum mismatch" {
		t.Fatalf("host: %+v", h)
	}
}

// TestWipeFlow: a ready host with a wipe pending is told to wipe (before
// its deploy, too), a wiped report clears the request, a failed wipe
// fails the host from ready and retry brings the wipe back.
func TestWipeFlow(t *testing.T) {
	b := newBootTest(t, nil)
	ctx := context.Background()
	b.store.CreateHost(ctx, inventory.Host{MAC: testMAC, State: inventory.StateReady,
		Wipe: &inventory.WipeRequest{Actor: "op"}}, "test")
	tok := b.token(testMAC)
	next := func() machineapi.Next {
		t.Helper()
		code, body := b.get("/machine/v1/next?wait=0s&mac="+testMAC, "Authorization", "Bearer "+tok)
		var a machineapi.Next
		if err := json.Unmarshal([]byte(body), &a); code != 200 || err != nil {
			t.Fatalf("next: %d %s", code, body)
		}
		return a
	}
	if a := next(); a.Action != "wipe" || a.State != "ready" {
		t.Fatalf("next = %+v, want wipe", a)
	}

	// A failed wipe: ready → failed, the request kept.
	if code, body := b.post("/machine/v1/failed?mac="+testMAC, tok, `{"cause":"wipe: /dev/vda: zero 2097152 bytes at 0: input/output error"}`); code != 200 {
		t.Fatalf("failed: %d %s", code, body)
	}
	h, _ := b.store.Host(ctx, testMAC)
	if h.State != inventory.StateFailed || h.Failure.From != inventory.StateReady || h.Wipe == nil {
		t.Fatalf("after a failed wipe: %+v", h)
	}
	if a := next(); a.Action != "wait" {
		t.Fatalf("next of a failed host = %+v, want wait", a)
	}
	if _, err := b.lc.Retry(ctx, testMAC, "", "op"); err != nil {
		t.Fatal(err)
	}
	if a := next(); a.Action != "wipe" {
		t.Fatalf("next after retry = %+v, want wipe", a)
	}

	for _, bad := range []string{`{}`, `{"disks":[]}`, `{"disks":[{"disk":"/dev/vda"}],"extra":1}`, `not json`} {
		if code, _ := b.post("/machine/v1/wiped?mac="+testMAC, tok, bad); code != 400 {
			t.Errorf("wiped %s: %d, want 400", bad, code)
		}
	}
	rep := `{"disks":[{"disk":"/dev/vda","size":1073741824,"table":"gpt","partitions":2,"zeroed":7340032}],"seconds":0.2}`
	if code, body := b.post("/machine/v1/wiped?mac="+testMAC, tok, rep); code != 200 {
		t.Fatalf("wiped: %d %s", code, body)
	}
	h, _ = b.store.Host(ctx, testMAC)
	if h.State != inventory.StateReady || h.Wipe != nil {
		t.Fatalf("after wiped: %+v", h)
	}
	ev, _ := b.store.Events(ctx, testMAC, 1)
	if ev[0].Type != "wiped" || ev[0].Cause != "quick wipe: /dev/vda (gpt, 2 partitions, 7 MiB zeroed) in 200ms" {
		t.Fatalf("event %+v", ev[0])
	}
	if a := next(); a.Action != "wait" {
		t.Fatalf("next after the wipe = %+v, want wait", a)
	}
	if code, _ := b.post("/machine/v1/wiped?mac="+testMAC, tok, rep); code != 409 {
		t.Fatalf("second wiped report: %d, want 409", code)
	}

	// A deploy behind a pending wipe waits for it.
	b.importImage("testos", mbrImage())
	if _, err := b.lc.Release(ctx, testMAC, true, "", "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.lc.RequestDeploy(ctx, testMAC, provision.DeployRequest{Image: "testos"}, "op"); err != nil {
		t.Fatal(err)
	}
	if a := next(); a.Action != "wipe" || a.State != "deploying" {
		t.Fatalf("next of a deploying host with a wipe pending = %+v, want wipe", a)
	}
	if code, _ := b.post("/machine/v1/deployed?mac="+testMAC, tok, `{"disk":"/dev/vda","written":1,"seconds":1}`); code != 409 {
		t.Fatalf("deployed before the wipe: %d, want 409", code)
	}
	if h, _ := b.store.Host(ctx, testMAC); h.State != inventory.StateDeploying {
		t.Fatalf("deployed before the wipe moved the host to %s", h.State)
	}
}

// TestDeployImageRemoved: an image removed from the store after the
// deploy was asked is answered "fail" at the installer's next poll, naming
// the image (asking writes nothing), and the installer's failed report
// fails the host instead of leaving it deploying until its timeout.
func TestDeployImageRemoved(t *testing.T) {
	b := newBootTest(t, nil)
	ctx := context.Background()
	b.importImage("testos", mbrImage())
	b.deploying(inventory.Host{MAC: testMAC}, "testos")
	if err := b.imgs.Remove(ctx, "testos"); err != nil {
		t.Fatal(err)
	}
	tok := b.token(testMAC)
	rev := b.store.Revision()
	code, body := b.get("/machine/v1/next?wait=0s&mac="+testMAC, "Authorization", "Bearer "+tok)
	var a machineapi.Next
	if err := json.Unmarshal([]byte(body), &a); code != 200 || err != nil || a.Action != "fail" || !strings.Contains(a.Cause, `image "testos" is no longer in the image store`) {
		t.Fatalf("next: %d %s", code, body)
	}
	if b.store.Revision() != rev {
		t.Fatal("next wrote")
	}
	if code, body := b.post("/machine/v1/failed?mac="+testMAC, tok, `{"cause":`+strconvQuote(a.Cause)+`}`); code != 200 {
		t.Fatalf("failed: %d %s", code, body)
	}
	h, _ := b.store.Host(ctx, testMAC)
	if h.State != inventory.StateFailed || h.Failure.From != inventory.StateDeploying || !strings.Contains(h.Failure.Cause, `image "testos" is no longer in the image store`) {
		t.Fatalf("host %+v", h)
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestInstallerRoutesNeedMACAndToken: every installer call but the claim
// wants ?mac= and a boot token claimed for it; without either it is
// refused (400 or 401) before its body is read, and the host is untouched.
func TestInstallerRoutesNeedMACAndToken(t *testing.T) {
	b := newBootTest(t, nil)
	ctx := context.Background()
	b.store.CreateHost(ctx, inventory.Host{MAC: testMAC, State: inventory.StateDeploying, Image: "x",
		Wipe: &inventory.WipeRequest{Actor: "op"}}, "test")
	tok := b.token(testMAC)
	other := b.token("52:54:00:00:00:99")
	before, _ := b.store.Host(ctx, testMAC)
	bodies := map[string]string{"progress": `{"written":1,"total":2}`, "deployed": `{"disk":"/dev/vda","written":1,"seconds":1}`,
		"failed": `{"cause":"x"}`, "wiped": `{"disks":[{"disk":"/dev/vda"}],"seconds":1}`, "seed": `{}`,
		"inspect": `{"mac":"52:54:00:12:34:56","facts":{}}`}
	for route, body := range bodies {
		for _, tc := range []struct {
			name, query, token string
			code               int
		}{
			{"no mac", "", tok, 400},
			{"no mac, bad token", "", "garbage", 400}, // no MAC to check the token against
			{"bad token", "?mac=" + testMAC, "garbage", 401},
			{"another host's token", "?mac=" + testMAC, other, 401},
		} {
			if code, out := b.post("/machine/v1/"+route+tc.query, tc.token, body); code != tc.code {
				t.Errorf("%s, %s: %d %s, want %d", route, tc.name, code, out, tc.code)
			}
		}
	}
	if after, _ := b.store.Host(ctx, testMAC); after.Version != before.Version {
		t.Errorf("refused callbacks changed the host: %+v", after)
	}
}
