package seed

import "testing"

var testConfig = Config{
	Hostname: "node-7",
	SSHKeys:  []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample op@desk", "ssh-rsa AAAAB3Nza other@desk"},
	URL:      "http://10.213.0.1:8081",
	Token:    "tok-3f9a_b",
	MAC:      "52:54:00:12:34:56",
}

func TestSeedFiles(t *testing.T) {
	if got, want := string(testConfig.metaData()), "instance-id: rackboot-525400123456\nlocal-hostname: node-7\n"; got != want {
		t.Errorf("meta-data:\n%s\nwant:\n%s", got, want)
	}
	want := `#cloud-config
hostname: node-7
ssh_authorized_keys:
  - "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample op@desk"
  - "ssh-rsa AAAAB3Nza other@desk"
rackboot:
  url: "http://10.213.0.1:8081"
  token: "tok-3f9a_b"
  mac: "52:54:00:12:34:56"
`
	if got := string(testConfig.userData()); got != want {
		t.Errorf("user-data:\n%s\nwant:\n%s", got, want)
	}
	for _, bad := range []Config{
		{},
		{Hostname: "h", URL: "u", Token: "a\"b", MAC: "m"},
		{Hostname: "h\nx", URL: "u", Token: "t", MAC: "m"},
		{Hostname: "h", URL: "u", Token: "t", MAC: "52:54:00:AB:CD:EF"},
		{Hostname: "h", URL: "u", Token: "t", MAC: "m", SSHKeys: []string{" k"}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", bad)
		}
	}
}
