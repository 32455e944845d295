package seed

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestAgentUserData(t *testing.T) {
	h := Config{URL: "http://10.0.0.1:8081/", MAC: "52:54:00:00:00:01", Token: "tok-en_1"}
	ud, err := agentUserData(h)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		WriteFiles []struct{ Path, Content, Permissions string } `yaml:"write_files"`
		Runcmd     [][]string
	}
	if err := yaml.Unmarshal([]byte(ud), &doc); err != nil || !strings.HasPrefix(ud, "#cloud-config\n") {
		t.Fatalf("user-data is not cloud-config YAML: %v\n%s", err, ud)
	}
	unit, _ := agentUnit(h)
	files := map[string]string{}
	for _, f := range doc.WriteFiles {
		files[f.Path] = f.Content
	}
	if files[agentTokenPath] != "tok-en_1\n" || files[agentUnitPath] != unit || !strings.Contains(files["/etc/rackboot/install-agent.sh"], "http://10.0.0.1:8081/machine/v1/agent/binary?mac=52:54:00:00:00:01") {
		t.Fatalf("files: %q", files)
	}
	if !strings.Contains(unit, "ExecStart=/usr/local/bin/rackboot agent --server http://10.0.0.1:8081 --mac 52:54:00:00:00:01 --token-file /etc/rackboot/agent.token\n") || strings.Contains(unit, "tok-en_1") {
		t.Fatalf("unit:\n%s", unit)
	}
	for _, bad := range []Config{{URL: "ftp://x", MAC: h.MAC, Token: "t"}, {URL: h.URL, MAC: h.MAC, Token: "t'; rm -rf /"}, {URL: h.URL, MAC: "", Token: "t"}} {
		if _, err := agentUserData(bad); err == nil {
			t.Errorf("agentUserData(%+v) accepted", bad)
		}
	}
}
