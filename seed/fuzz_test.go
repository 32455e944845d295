package seed

import (
	"testing"
)

// FuzzUserData feeds arbitrary operator input to the checks that face it
// (a user-data part, an SSH key line): neither may panic, and whatever
// they accept must render into a seed whose user-data gives the part back
// byte for byte and whose meta-data gives the key back.
func FuzzUserData(f *testing.F) {
	f.Add("#cloud-config\nwrite_files:\n  - path: /x\n    content: y\n", keyEd25519)
	f.Add("#!/bin/sh\necho hi\n", keyOptions)
	f.Add("#cloud-config\na: [\n", "ssh-rsa AAAA")
	f.Add("#cloud-config\n- list\n", keyECDSA+"\n"+keyEd25519)
	f.Fuzz(func(t *testing.T, body, key string) {
		p := Part{Name: "fuzz", Body: body}
		c := testConfig
		c.UserData, c.SSHKeys = nil, nil
		if p.Check() == nil {
			c.UserData = []Part{p}
		}
		if CheckSSHKey(key) == nil {
			c.SSHKeys = []string{key}
		}
		s, err := Render(c)
		if err != nil {
			t.Fatalf("accepted input does not render: %v", err)
		}
		got := parts(t, s.UserData)
		if len(c.UserData) == 1 && (len(got) != 2 || got[0][3] != body) {
			t.Fatalf("part %q came back as %q", body, got)
		}
	})
}
