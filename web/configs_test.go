package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func configJSON(name string, sel map[string]string, body string) string {
	b, _ := json.Marshal(map[string]any{"name": name, "selector": sel, "body": body})
	return string(b)
}

const goodConfig = "- kind: file\n  name: /etc/motd\n  content: hi\n"

// TestConfigBadInput: every kind of mistake is refused with 400, names
// where it is, and leaves what is stored as it was.
func TestConfigBadInput(t *testing.T) {
	a := newAPITest(t)
	web := map[string]string{"role": "web"}
	if code, body := a.call("PUT", "/api/v1/configs/base", configJSON("", web, goodConfig)); code != http.StatusCreated {
		t.Fatalf("store a good config: %d %s", code, body)
	}
	_, before := a.call("GET", "/api/v1/configs", "")
	for _, tc := range []struct {
		name, method, path, body, want string
	}{
		{"yaml syntax", "PUT", "/api/v1/configs/base", configJSON("", web, "- kind: file\n  name: [/x\n"), "yaml: line"},
		{"wrong type", "PUT", "/api/v1/configs/base", configJSON("", web, "- kind: user\n  name: al\n  uid: abc\n"), "line 3:8: user:al: uid:"},
		{"unknown kind", "PUT", "/api/v1/configs/base", configJSON("", web, "- kind: filee\n  name: /x\n"), `line 1:9: kind: unknown kind "filee"`},
		{"unknown parameter", "POST", "/api/v1/configs", configJSON("new", web, "- kind: file\n  name: /x\n  conten: hi\n"), "line 3:3: file:/x: conten: unknown parameter"},
		{"bad value", "PUT", "/api/v1/configs/base", configJSON("", web, "- kind: file\n  name: /x\n  mode: '999'\n"), `line 3:9: file:/x: mode: "999" is not an octal mode`},
		{"dangling", "PUT", "/api/v1/configs/base", configJSON("", web, "- kind: file\n  name: /x\n  require: [pkg:nope]\n"), `line 3:13: file:/x: require: "pkg:nope" names no resource`},
		{"cycle", "PUT", "/api/v1/configs/base", configJSON("", web,
			"- kind: file\n  name: /a\n  require: [file:/b]\n- kind: file\n  name: /b\n  require: [file:/a]\n"), "line 3:13:"},
		{"template syntax", "PUT", "/api/v1/configs/base", configJSON("", web, "- kind: file\n  name: /x\n  content: {{ valu \"db1\" \"k\" }}\n"), `config base: line 3:12: function "valu" not defined`},
		{"template left open", "PUT", "/api/v1/configs/base", configJSON("", web, "- kind: file\n  name: /x\n  content: |\n    {{range hosts \"rack=r1\"}}{{.IP}}\n"), `config base: line 4:5: {{range}} is never closed`},
		{"not a list", "PUT", "/api/v1/configs/base", configJSON("", web, "kind: file\n"), "line 1:1: the config must be a list"},
		{"bad selector key", "PUT", "/api/v1/configs/base", configJSON("", map[string]string{"a b": "x"}, goodConfig), `invalid selector: key "a b"`},
		{"selector not a map", "PUT", "/api/v1/configs/base", `{"selector": "role=web", "body": ""}`, `field "selector"`},
		{"bad name", "POST", "/api/v1/configs", configJSON("Web Server", web, goodConfig), "invalid name"},
		{"name differs from path", "PUT", "/api/v1/configs/base", configJSON("other", web, goodConfig), "differs from the path"},
		{"unknown field", "PUT", "/api/v1/configs/base", `{"selektor": {}}`, `unknown field "selektor"`},
		{"stale If-Match", "PUT", "/api/v1/configs/base", configJSON("", web, goodConfig+"  mode: '0600'\n"), "version conflict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{}
			if tc.name == "stale If-Match" {
				hdr = []string{"If-Match", `"999"`}
			}
			code, body := a.call(tc.method, tc.path, tc.body, hdr...)
			var e struct{ Error string }
			json.Unmarshal([]byte(body), &e)
			wantCode := http.StatusBadRequest
			if tc.name == "stale If-Match" {
				wantCode = http.StatusConflict
			}
			if code != wantCode || !strings.Contains(e.Error, tc.want) {
				t.Fatalf("%d %s\nwant %d and an error containing %q", code, body, wantCode, tc.want)
			}
		})
	}
	if _, after := a.call("GET", "/api/v1/configs", ""); after != before {
		t.Fatalf("refused requests changed what is stored:\nbefore %s\nafter  %s", before, after)
	}
}

func TestConfigCRUD(t *testing.T) {
	a := newAPITest(t)
	a.call("POST", "/api/v1/hosts", `{"mac":"52:54:00:00:00:01","labels":{"role":"web","site":"lab"}}`)
	a.call("POST", "/api/v1/hosts", `{"mac":"52:54:00:00:00:02","labels":{"role":"web"}}`)
	code, body := a.call("POST", "/api/v1/configs", configJSON("motd", map[string]string{"role": "web", "site": "lab"}, goodConfig))
	var c configView
	if json.Unmarshal([]byte(body), &c); code != http.StatusCreated || c.Version == 0 || c.SelectedHosts != 1 {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := a.call("POST", "/api/v1/configs", configJSON("motd", nil, goodConfig)); code != http.StatusConflict {
		t.Fatalf("create twice: %d %s", code, body)
	}
	code, body = a.call("PUT", "/api/v1/configs/motd", configJSON("", nil, goodConfig), "If-Match", etag(c.Version))
	var c2 configView
	if json.Unmarshal([]byte(body), &c2); code != http.StatusOK || c2.Version <= c.Version || c2.SelectedHosts != 0 {
		t.Fatalf("replace with an empty selector: %d %s; want a new version selecting no host", code, body)
	}
	if code, body := a.call("GET", "/api/v1/configs/motd", ""); code != http.StatusOK || !strings.Contains(body, "/etc/motd") {
		t.Fatalf("get: %d %s", code, body)
	}
	if code, body := a.call("DELETE", "/api/v1/configs/motd", ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, _ := a.call("GET", "/api/v1/configs/motd", ""); code != http.StatusNotFound {
		t.Fatalf("get after delete: %d", code)
	}
}

func TestMintAgentToken(t *testing.T) {
	a := newAPITest(t)
	if code, body := a.call("POST", "/api/v1/hosts/52:54:00:00:00:01/agent-token", ""); code != http.StatusNotFound {
		t.Fatalf("unknown host: %d %s", code, body)
	}
	a.call("POST", "/api/v1/hosts", `{"mac":"52:54:00:00:00:01"}`)
	code, body := a.call("POST", "/api/v1/hosts/52-54-00-00-00-01/agent-token", `{"revoke": true}`)
	var ans agentTokenAnswer
	if json.Unmarshal([]byte(body), &ans); code != http.StatusCreated || ans.Token == "" || ans.MAC != "52:54:00:00:00:01" || !ans.Revoked {
		t.Fatalf("mint: %d %s", code, body)
	}
	if err := lifecycle(a.store, nil).VerifyAgentToken(t.Context(), ans.Token, ans.MAC); err != nil {
		t.Fatalf("minted token does not verify: %v", err)
	}
	if _, body := a.call("GET", "/api/v1/hosts/52:54:00:00:00:01/events", ""); !strings.Contains(body, "earlier ones revoked") || strings.Contains(body, ans.Token) {
		t.Fatalf("the log should say a token was minted, never the token: %s", body)
	}
}
