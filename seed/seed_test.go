package seed

import (
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os/exec"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	keyEd25519 = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFpQabVQCr8D44JBIvzOxdG+x+XOMRuI9+5H0hlMQlr2 op@desk "quoted" \back`
	keyECDSA   = `ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBO/yzXdRDdIVF2Mn8KCNpJJVlabqesQIqSaxJyW4wkn9haSeIEZdTndMgMrPTvIyFmOAZ1j3HHf40XAm/d2aO0U= ec`
	// Options with quotes and a comma inside them, as sshd takes them.
	keyOptions = `from="10.0.0.0/8,192.168.1.1",command="echo \"hi\"",no-pty ` + keyECDSA
)

var testConfig = Config{
	InstanceID: "rackboot-525400123456-0a1b2c3d",
	Hostname:   "node-7",
	MAC:        "52:54:00:12:34:56",
	SSHKeys:    []string{keyEd25519, keyOptions},
	URL:        "http://10.213.0.1:8081/",
	Token:      "tok-3f9a_b",
	UserData: []Part{
		{Name: "web", Body: "#cloud-config\nwrite_files:\n  - path: /etc/web\n    content: \"from the web label: ünïcode --boundary\"\n"},
		{Name: "host", Body: "#!/bin/bash\necho host part\n"},
	},
}

func TestMetaData(t *testing.T) {
	s, err := Render(testConfig)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		InstanceID string   `yaml:"instance-id"`
		Hostname   string   `yaml:"local-hostname"`
		Keys       []string `yaml:"public-keys"`
	}
	if err := yaml.Unmarshal([]byte(s.MetaData), &m); err != nil {
		t.Fatalf("meta-data: %v\n%s", err, s.MetaData)
	}
	if m.InstanceID != testConfig.InstanceID || m.Hostname != "node-7" || len(m.Keys) != 2 || m.Keys[0] != keyEd25519 || m.Keys[1] != keyOptions {
		t.Errorf("meta-data read back as %+v:\n%s", m, s.MetaData)
	}
}

func TestNetworkConfig(t *testing.T) {
	type eth struct {
		Match       map[string]string
		DHCP4       bool   `yaml:"dhcp4"`
		DHCPID      string `yaml:"dhcp-identifier"`
		Addresses   []string
		Routes      []map[string]string
		Nameservers struct{ Addresses []string }
	}
	read := func(c Config) eth {
		s, err := Render(c)
		if err != nil {
			t.Fatal(err)
		}
		var n struct {
			Version   int
			Ethernets map[string]eth
		}
		if err := yaml.Unmarshal([]byte(s.NetworkConfig), &n); err != nil || n.Version != 2 || len(n.Ethernets) != 1 {
			t.Fatalf("network-config %+v, %v:\n%s", n, err, s.NetworkConfig)
		}
		return n.Ethernets["boot"]
	}
	if e := read(testConfig); !e.DHCP4 || e.DHCPID != "mac" || e.Match["macaddress"] != testConfig.MAC || len(e.Addresses) != 0 {
		t.Errorf("DHCP: %+v", e)
	}
	c := testConfig
	c.Network = &Network{Address: "10.0.0.5/24", Gateway: "10.0.0.1", DNS: []string{"10.0.0.2", "2001:db8::53"}}
	e := read(c)
	if e.DHCP4 || e.Addresses[0] != "10.0.0.5/24" || e.Routes[0]["to"] != "0.0.0.0/0" || e.Routes[0]["via"] != "10.0.0.1" ||
		strings.Join(e.Nameservers.Addresses, " ") != "10.0.0.2 2001:db8::53" || e.Match["macaddress"] != c.MAC {
		t.Errorf("static: %+v", e)
	}
	c.Network = &Network{Address: "10.0.0.5", Gateway: "x"}
	if _, err := Render(c); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "want CIDR") {
		t.Errorf("bad address: %v", err)
	}
}

// parts reads user-data as a MIME mail the way cloud-init does and
// returns each part's type, filename, merge type and decoded body.
func parts(t *testing.T, userData string) [][4]string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(userData))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("user-data type %q: %v", mt, err)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	var out [][4]string
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			if b, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(b), "\r\n", "")); err != nil {
				t.Fatal(err)
			}
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out = append(out, [4]string{ct, p.FileName(), p.Header.Get("Merge-Type"), string(b)})
	}
}

func TestUserData(t *testing.T) {
	s, err := Render(testConfig)
	if err != nil {
		t.Fatal(err)
	}
	got := parts(t, s.UserData)
	if len(got) != 3 {
		t.Fatalf("%d parts: %q", len(got), got)
	}
	want := [][3]string{
		{"text/cloud-config", "01-web", mergeType},
		{"text/x-shellscript", "02-host", ""},
		{"text/x-shellscript", "99-rackboot-agent.sh", ""},
	}
	for i, w := range want {
		if got[i][0] != w[0] || got[i][1] != w[1] || got[i][2] != w[2] {
			t.Errorf("part %d: %q %q %q, want %q", i, got[i][0], got[i][1], got[i][2], w)
		}
	}
	for i, p := range testConfig.UserData {
		if got[i][3] != p.Body {
			t.Errorf("part %d body %q, want %q", i, got[i][3], p.Body)
		}
	}
	script := got[2][3]
	for _, want := range []string{
		"echo 'tok-3f9a_b' >/etc/rackboot/agent.token",
		"ExecStart=/usr/local/bin/rackboot agent --server http://10.213.0.1:8081 --mac 52:54:00:12:34:56 --token-file /etc/rackboot/agent.token\n",
		"fetch 'http://10.213.0.1:8081/machine/v1/agent/binary?mac=52:54:00:12:34:56' /usr/local/bin/rackboot.part",
		"post 'http://10.213.0.1:8081/machine/v1/firstboot?mac=52:54:00:12:34:56'",
		"systemctl enable --now rackboot-agent.service",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	if out, err := exec.Command("sh", "-n", "-c", script).CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v: %s", err, out)
	}
}

func TestRackbootFile(t *testing.T) {
	s, err := Render(testConfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nhostname=node-7\n", "\nurl=http://10.213.0.1:8081\n", "\ntoken=tok-3f9a_b\n", "\nmac=52:54:00:12:34:56\n",
		"\nssh_key=" + keyEd25519 + "\n", "\nssh_key=" + keyOptions + "\n"} {
		if !strings.Contains(s.Rackboot, want) {
			t.Errorf("rackboot.seed lacks %q:\n%s", want, s.Rackboot)
		}
	}
}

func TestCheckSSHKey(t *testing.T) {
	for _, k := range []string{keyEd25519, keyECDSA, keyOptions, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFpQabVQCr8D44JBIvzOxdG+x+XOMRuI9+5H0hlMQlr2"} {
		if err := CheckSSHKey(k); err != nil {
			t.Errorf("%q: %v", k, err)
		}
	}
	for name, k := range map[string]string{
		"empty":      "  ",
		"two lines":  keyEd25519 + "\n" + keyECDSA,
		"bad base64": "ssh-ed25519 AAAA!!!! x",
		"type only":  "ssh-ed25519",
		"wrong type": "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIFpQabVQCr8D44JBIvzOxdG+x+XOMRuI9+5H0hlMQlr2",
		"text":       "hello world",
	} {
		if err := CheckSSHKey(k); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
}

func TestPartCheck(t *testing.T) {
	for _, body := range []string{"#cloud-config\n", "#cloud-config\nruncmd: [[touch, /x]]\n", "#!/bin/sh\ntrue\n", "#cloud-config\r\npackages: [vim]\r\n"} {
		if err := (Part{Body: body}).Check(); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
	for name, tc := range map[string]struct{ body, msg string }{
		"empty":       {"", "is empty"},
		"no header":   {"runcmd: []\n", "want a cloud-config"},
		"list":        {"#cloud-config\n- a\n- b\n", "YAML mapping"},
		"bad yaml":    {"#cloud-config\na: [\nb: c\n", "line"},
		"binary":      {"#!/bin/sh\n\xff\xfe", "not UTF-8"},
		"jinja":       {"## template: jinja\n#cloud-config\n", "want a cloud-config"},
		"too large":   {"#!/bin/sh\n" + strings.Repeat("x", MaxPartBytes), "bytes (at most"},
		"mime itself": {"Content-Type: multipart/mixed\n", "want a cloud-config"},
	} {
		err := (Part{Name: "web", Body: tc.body}).Check()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "user-data web") {
			t.Errorf("%s: err %v, want one saying %q", name, err, tc.msg)
		}
	}
}

func TestValidate(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"no instance id": func(c *Config) { c.InstanceID = "" },
		"no hostname":    func(c *Config) { c.Hostname = "" },
		"upper mac":      func(c *Config) { c.MAC = "52:54:00:AB:CD:EF" },
		"ftp url":        func(c *Config) { c.URL = "ftp://x" },
		"quoted token":   func(c *Config) { c.Token = "t'; rm -rf /" },
		"bad key":        func(c *Config) { c.SSHKeys = []string{"nope"} },
		"bad part":       func(c *Config) { c.UserData = []Part{{Name: "x", Body: "hello"}} },
	} {
		c := testConfig
		mutate(&c)
		if _, err := Render(c); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
}

func TestWithToken(t *testing.T) {
	c := testConfig
	c.Token = TokenPlaceholder
	sd, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := WithToken(sd, "tok-1_A")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got.UserData+got.Rackboot, TokenPlaceholder) || !strings.Contains(got.Rackboot, "token=tok-1_A\n") ||
		!strings.Contains(got.UserData, "'tok-1_A'") {
		t.Errorf("token not written in:\n%s\n%s", got.UserData, got.Rackboot)
	}
	for _, bad := range []string{"", "a'b", "a b", "a\x00b", "a$b"} {
		if _, err := WithToken(sd, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	if _, err := WithToken(got, "tok-2"); !errors.Is(err, ErrInvalid) {
		t.Errorf("a seed without the placeholder took a token: %v", err)
	}
	// No value Render takes can carry the placeholder's NUL.
	c.Hostname = "a" + TokenPlaceholder
	if _, err := Render(c); !errors.Is(err, ErrInvalid) {
		t.Errorf("hostname with the placeholder: %v", err)
	}
}
