package dashboard

import (
	"net/http"
	"net/url"
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
	dt.addHost(inventory.Host{MAC: mac})
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

// otherSessionCSRF signs in a second client and returns its CSRF token.
func otherSessionCSRF(t *testing.T, dt *dashTest) string {
	other := *dt
	other.client = &http.Client{Jar: newJar(), CheckRedirect: dt.client.CheckRedirect}
	other.login()
	return other.csrf()
}

// TestReleaseWipeButton: the "Release and wipe disks" button is release
// with {"wipe": true} through Actions.
func TestReleaseWipeButton(t *testing.T) {
	dt := newDashTest(t, nil)
	const mac = "52:54:00:00:00:01"
	dt.addHost(inventory.Host{MAC: mac, State: inventory.StateDeployed})
	dt.login()
	_, page := dt.do("GET", "/ui/hosts/"+mac, nil)
	if !strings.Contains(page, "/ui/hosts/"+mac+"/actions/release-wipe") || !strings.Contains(page, "Release and wipe disks") {
		t.Fatalf("host page has no release-and-wipe button")
	}
	if resp, body := dt.do("POST", "/ui/hosts/"+mac+"/actions/release-wipe", url.Values{"csrf": {dt.csrf()}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("release-wipe: %d %s", resp.StatusCode, body)
	}
	if calls := dt.actions.called(); len(calls) != 1 || calls[0] != "release "+mac+` {"wipe":true}` {
		t.Errorf("calls: %q", calls)
	}
}
