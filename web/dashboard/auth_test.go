package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

func TestLoginWrongTokenShowsLoginPage(t *testing.T) {
	dt := newDashTest(t, nil)
	for _, tok := range []string{"", "wrong", testToken + "x", strings.ToUpper(testToken)} {
		resp, body := dt.do("POST", "/ui/login", url.Values{"token": {tok}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("token %q: %d, want 401", tok, resp.StatusCode)
		}
		if len(resp.Cookies()) != 0 {
			t.Errorf("token %q: set a cookie: %v", tok, resp.Cookies())
		}
		if !strings.Contains(body, `name="token"`) || strings.Contains(body, "goroutine") {
			t.Errorf("token %q: want the login form and no trace, got:\n%s", tok, body)
		}
	}
}

func TestSessionCookieFlags(t *testing.T) {
	dt := newDashTest(t, nil)
	resp, _ := dt.do("POST", "/ui/login", url.Values{"token": {testToken}, "next": {"/ui/hosts/52:54:00:00:00:01"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/hosts/52:54:00:00:00:01" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cs := resp.Cookies()
	if len(cs) != 1 {
		t.Fatalf("cookies: %v", cs)
	}
	c := cs[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge <= 0 {
		t.Errorf("cookie flags: %+v", c)
	}
	if strings.Contains(c.Value, testToken) {
		t.Errorf("cookie carries the operator token: %q", c.Value)
	}
	if raw := resp.Header.Get("Set-Cookie"); !strings.Contains(raw, "HttpOnly") || !strings.Contains(raw, "SameSite=Strict") {
		t.Errorf("Set-Cookie: %s", raw)
	}
}

func TestLoginRedirectStaysOnDashboard(t *testing.T) {
	for _, next := range []string{"https://evil.example/", "//evil.example/ui/", "/api/v1/hosts", "/ui/\\evil", ""} {
		if got := safeNext(next); got != "/ui/" {
			t.Errorf("safeNext(%q) = %q, want /ui/", next, got)
		}
	}
	if got := safeNext("/ui/?state=ready"); got != "/ui/?state=ready" {
		t.Errorf("safeNext kept %q", got)
	}
}

func TestNoSessionAnswersLoginPage(t *testing.T) {
	dt := newDashTest(t, nil)
	for _, path := range []string{"/", "/ui/", "/ui/hosts/52:54:00:00:00:01", "/ui/live", "/ui/images", "/ui/nope"} {
		resp, body := dt.do("GET", path, nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `action="/ui/login"`) {
			t.Errorf("GET %s: %d, want 401 with the login form", path, resp.StatusCode)
		}
	}
	resp, _ := dt.do("GET", "/ui/static/app.css", nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("stylesheet: %d", resp.StatusCode)
	}
}

func TestExpiredOrForgedSessionShowsLoginPage(t *testing.T) {
	dt := newDashTest(t, nil)
	dt.login()
	if resp, _ := dt.do("GET", "/ui/", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("after login: %d", resp.StatusCode)
	}
	dt.clock.Add(13 * time.Hour)
	resp, body := dt.do("GET", "/ui/", nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "session has ended") {
		t.Errorf("expired session: %d\n%s", resp.StatusCode, body)
	}
	for _, v := range []string{"garbage", "AAAA.BBBB", testToken} {
		req, _ := http.NewRequest("GET", dt.srv.URL+"/ui/", nil)
		req.AddCookie(&http.Cookie{Name: cookieName, Value: v})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("cookie %q: %d, want 401", v, resp.StatusCode)
		}
	}
}

func TestLogoutEndsSession(t *testing.T) {
	dt := newDashTest(t, nil)
	dt.login()
	u, _ := url.Parse(dt.srv.URL)
	saved := dt.client.Jar.Cookies(u)
	if resp, _ := dt.do("POST", "/ui/logout", url.Values{"csrf": {dt.csrf()}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	dt.client.Jar.SetCookies(u, saved) // a copy of the cookie kept from before
	if resp, _ := dt.do("GET", "/ui/", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after logout: %d, want 401", resp.StatusCode)
	}
}

func TestCSRFRefusal(t *testing.T) {
	dt := newDashTest(t, nil)
	const mac = "52:54:00:00:00:01"
	dt.addHost(inventory.Host{MAC: mac, State: inventory.StateReady})
	dt.login()
	good := dt.csrf()
	path := "/ui/hosts/" + mac + "/actions/release"
	cases := []struct {
		name string
		form url.Values
		hdr  []string
	}{
		{"no token", url.Values{}, nil},
		{"wrong field", url.Values{"csrf": {"x" + good}}, nil},
		{"wrong header", nil, []string{csrfHeader, good[:10]}},
		{"other session's token", url.Values{"csrf": {otherSessionCSRF(t, dt)}}, nil},
		{"cross-site with token", url.Values{"csrf": {good}}, []string{"Sec-Fetch-Site", "cross-site"}},
		{"foreign origin with token", url.Values{"csrf": {good}}, []string{"Origin", "https://evil.example"}},
		// Another port of the same address is the same site, so SameSite
		// lets the cookie through: the origin check still refuses it.
		{"another port, same site", url.Values{"csrf": {good}}, []string{"Sec-Fetch-Site", "same-site"}},
		{"another port's origin", url.Values{"csrf": {good}}, []string{"Origin", otherPort(dt.srv.URL)}},
	}
	for _, c := range cases {
		resp, body := dt.do("POST", path, c.form, c.hdr...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403\n%s", c.name, resp.StatusCode, body)
		}
	}
	if calls := dt.actions.called(); len(calls) != 0 {
		t.Fatalf("refused requests reached Actions: %v", calls)
	}
	if resp, _ := dt.do("POST", path, url.Values{"csrf": {good}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("form with token: %d, want 303", resp.StatusCode)
	}
	if resp, _ := dt.do("POST", path, nil, csrfHeader, good, "Accept", "application/json"); resp.StatusCode != http.StatusOK {
		t.Errorf("fetch with header: %d, want 200", resp.StatusCode)
	}
	if calls := dt.actions.called(); len(calls) != 2 || calls[0] != "release "+mac {
		t.Errorf("calls: %v", calls)
	}
}

// otherPort is u with another port.
func otherPort(u string) string {
	p, _ := url.Parse(u)
	n, _ := strconv.Atoi(p.Port())
	return "http://" + p.Hostname() + ":" + strconv.Itoa(n%60000+1)
}

// otherSessionCSRF signs in a second client and returns its CSRF token.
func otherSessionCSRF(t *testing.T, dt *dashTest) string {
	other := *dt
	other.client = &http.Client{Jar: newJar(), CheckRedirect: dt.client.CheckRedirect}
	other.login()
	return other.csrf()
}

// TestReleaseWipeButton: the "Release and wipe disks" button is release
// with {"wipe": true} through Actions, and does nothing until its
// confirmation is ticked.
func TestReleaseWipeButton(t *testing.T) {
	dt := newDashTest(t, nil)
	const mac = "52:54:00:00:00:01"
	dt.addHost(inventory.Host{MAC: mac, State: inventory.StateDeployed})
	dt.login()
	_, page := dt.do("GET", "/ui/hosts/"+mac, nil)
	if !strings.Contains(page, "/ui/hosts/"+mac+"/actions/release-wipe") || !strings.Contains(page, "Release and wipe disks") {
		t.Fatalf("host page has no release-and-wipe button")
	}
	if !strings.Contains(page, `name="confirm" value="yes" required`) {
		t.Errorf("release and wipe has no confirmation")
	}
	resp, body := dt.do("POST", "/ui/hosts/"+mac+"/actions/release-wipe", url.Values{"csrf": {dt.csrf()}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "tick") {
		t.Fatalf("release-wipe unconfirmed: %d %s", resp.StatusCode, body)
	}
	if calls := dt.actions.called(); len(calls) != 0 {
		t.Fatalf("unconfirmed wipe reached Actions: %q", calls)
	}
	if resp, body := dt.do("POST", "/ui/hosts/"+mac+"/actions/release-wipe", url.Values{"csrf": {dt.csrf()}, "confirm": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("release-wipe: %d %s", resp.StatusCode, body)
	}
	if calls := dt.actions.called(); len(calls) != 1 || calls[0] != "release "+mac+` {"wipe":true}` {
		t.Errorf("calls: %q", calls)
	}
}

// TestPlainHTTPWarnsAndTLSDoesNot: over plain HTTP every page, the sign-in
// page included, says the token crosses the network in clear; over TLS no
// page does, and the session cookie is Secure.
func TestPlainHTTPWarnsAndTLSDoesNot(t *testing.T) {
	dt := newDashTest(t, nil)
	if _, body := dt.do("GET", "/ui/login", nil); !strings.Contains(body, `id="insecure"`) {
		t.Errorf("plain HTTP sign-in page has no warning")
	}
	dt.login()
	if _, body := dt.do("GET", "/ui/", nil); !strings.Contains(body, `id="insecure"`) {
		t.Errorf("plain HTTP host list has no warning")
	}

	store, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	d, err := New(Config{Store: store, Token: testToken, TokenPath: "/var/lib/rackboot/admin.token"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(d)
	defer srv.Close()
	c := srv.Client()
	c.Jar = newJar()
	resp, err := c.Get(srv.URL + "/ui/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), `id="insecure"`) {
		t.Errorf("HTTPS sign-in page warns of plain HTTP")
	}
	if !strings.Contains(string(b), "<code>/var/lib/rackboot/admin.token</code>") {
		t.Errorf("sign-in page does not name the token's path:\n%s", b)
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = c.PostForm(srv.URL+"/ui/login", url.Values{"token": {testToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := resp.Cookies(); len(cs) != 1 || !cs[0].Secure || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie over HTTPS: %+v, want Secure, HttpOnly, SameSite=Strict", cs)
	}
}
