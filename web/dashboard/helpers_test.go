package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

const testToken = "0123456789abcdef0123456789abcdef"

// fakeActions records each call and answers with refuse[action] if set.
type fakeActions struct {
	mu     sync.Mutex
	calls  []string
	refuse map[string]error
}

func (f *fakeActions) Do(_ context.Context, mac, action string, body map[string]any) (inventory.Host, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := action + " " + mac
	if body != nil {
		b, _ := json.Marshal(body)
		call += " " + string(b)
	}
	f.calls = append(f.calls, call)
	if err := f.refuse[action]; err != nil {
		return inventory.Host{}, err
	}
	return inventory.Host{MAC: mac, State: inventory.StateReady}, nil
}

func (f *fakeActions) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type dashTest struct {
	t       *testing.T
	store   *inventory.DB
	actions *fakeActions
	clock   *clock
	srv     *httptest.Server
	client  *http.Client // keeps cookies, does not follow redirects
}

func newDashTest(t *testing.T, wrap func(inventory.Store) inventory.Store) *dashTest {
	t.Helper()
	store, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dt := &dashTest{t: t, store: store, actions: &fakeActions{refuse: map[string]error{}}, clock: &clock{now: time.Now()}}
	var s inventory.Store = store
	if wrap != nil {
		s = wrap(store)
	}
	d, err := New(Config{Store: s, Token: testToken, Actions: dt.actions, Now: dt.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	dt.srv = httptest.NewServer(d)
	jar, _ := cookiejar.New(nil)
	dt.client = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(func() { dt.srv.Close(); store.Close() })
	return dt
}

func (dt *dashTest) addHost(h inventory.Host) {
	dt.t.Helper()
	if _, err := dt.store.CreateHost(dt.t.Context(), h, "test"); err != nil {
		dt.t.Fatal(err)
	}
}

// do sends a request and returns the response with its body read.
func (dt *dashTest) do(method, path string, form url.Values, hdr ...string) (*http.Response, string) {
	dt.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, dt.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := dt.client.Do(req)
	if err != nil {
		dt.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (dt *dashTest) login() {
	dt.t.Helper()
	resp, body := dt.do("POST", "/ui/login", url.Values{"token": {testToken}})
	if resp.StatusCode != http.StatusSeeOther {
		dt.t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
}

// csrf reads the CSRF token from a page, as the browser's script does.
func (dt *dashTest) csrf() string {
	dt.t.Helper()
	_, body := dt.do("GET", "/ui/", nil)
	_, rest, ok := strings.Cut(body, `<meta name="csrf-token" content="`)
	if !ok {
		dt.t.Fatalf("no CSRF token on the list page:\n%s", body)
	}
	tok, _, _ := strings.Cut(rest, `"`)
	return tok
}

func newJar() http.CookieJar {
	jar, _ := cookiejar.New(nil)
	return jar
}
