package testimage

import (
	"errors"
	"fmt"
	"os"
	"strings"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/filesystem"
)

// Seed is what the installer writes to a deployed host's CIDATA partition.
type Seed struct {
	InstanceID        string   // meta-data instance-id; "" means "rackboot-" + MAC without colons
	Hostname          string   // meta-data local-hostname and cloud-config hostname
	SSHAuthorizedKeys []string // cloud-config ssh_authorized_keys
	URL               string   // rackboot.url: the appliance's machine-facing base URL
	Token             string   // rackboot.token: the host's agent token
	MAC               string   // rackboot.mac: the host's boot NIC, lowercase, colon-separated
	Agent             string   // rackboot.agent: optional URL of a rackboot binary to run as the agent
}

// Validate refuses values the image's line parser cannot carry: empty
// required fields, line breaks, quotes and backslashes.
func (s Seed) Validate() error {
	if s.Hostname == "" || s.URL == "" || s.Token == "" || s.MAC == "" {
		return errors.New("seed: hostname, url, token and mac are required")
	}
	check := func(name, v string) error {
		if err := CheckValue(v); err != nil {
			return fmt.Errorf("seed: %s %q: %w", name, v, err)
		}
		return nil
	}
	for name, v := range map[string]string{"instance-id": s.InstanceID, "hostname": s.Hostname,
		"url": s.URL, "token": s.Token, "mac": s.MAC, "agent": s.Agent} {
		if err := check(name, v); err != nil {
			return err
		}
	}
	for _, k := range s.SSHAuthorizedKeys {
		if err := check("ssh key", k); err != nil {
			return err
		}
	}
	if s.MAC != strings.ToLower(s.MAC) {
		return fmt.Errorf("seed: mac %q: want lowercase", s.MAC)
	}
	return nil
}

// CheckValue reports whether v can be a seed value: the image's line
// parser (README.md, "The seed") takes no escapes, so no quotes,
// backslashes, tabs, line breaks or outer spaces.
func CheckValue(v string) error {
	if strings.ContainsAny(v, "\"\\\r\n\t") || strings.TrimSpace(v) != v {
		return errors.New("no quotes, backslashes, tabs, line breaks or outer spaces")
	}
	return nil
}

func (s Seed) instanceID() string {
	if s.InstanceID != "" {
		return s.InstanceID
	}
	return "rackboot-" + strings.ReplaceAll(s.MAC, ":", "")
}

// MetaData is the NoCloud meta-data file.
func (s Seed) MetaData() []byte {
	return fmt.Appendf(nil, "instance-id: %s\nlocal-hostname: %s\n", s.instanceID(), s.Hostname)
}

// UserData is the NoCloud user-data file: a cloud-config whose rackboot
// mapping the image's init reads.
func (s Seed) UserData() []byte {
	var b strings.Builder
	b.WriteString("#cloud-config\n")
	fmt.Fprintf(&b, "hostname: %s\n", s.Hostname)
	if len(s.SSHAuthorizedKeys) > 0 {
		b.WriteString("ssh_authorized_keys:\n")
		for _, k := range s.SSHAuthorizedKeys {
			fmt.Fprintf(&b, "  - \"%s\"\n", k)
		}
	}
	b.WriteString("rackboot:\n")
	fmt.Fprintf(&b, "  url: \"%s\"\n", s.URL)
	fmt.Fprintf(&b, "  token: \"%s\"\n", s.Token)
	fmt.Fprintf(&b, "  mac: \"%s\"\n", s.MAC)
	if s.Agent != "" {
		fmt.Fprintf(&b, "  agent: \"%s\"\n", s.Agent)
	}
	return []byte(b.String())
}

// WriteSeed writes the seed's meta-data and user-data into the CIDATA
// partition (partition 2) of the disk or disk image at path, replacing
// files already there. The installer does the same on the target disk.
func WriteSeed(path string, s Seed) (err error) {
	if err := s.Validate(); err != nil {
		return err
	}
	d, err := diskfs.Open(path, diskfs.WithOpenMode(diskfs.ReadWrite))
	if err != nil {
		return fmt.Errorf("seed: open %s: %w", path, err)
	}
	defer func() {
		if cerr := d.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("seed: %w", cerr)
		}
	}()
	fs, err := d.GetFilesystem(SeedPartition)
	if err != nil {
		return fmt.Errorf("seed: partition %d of %s: %w", SeedPartition, path, err)
	}
	if got := strings.TrimSpace(fs.Label()); !strings.EqualFold(got, SeedLabel) {
		return fmt.Errorf("seed: partition %d of %s is labelled %q, want %s", SeedPartition, path, got, SeedLabel)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"/meta-data", s.MetaData()}, {"/user-data", s.UserData()}} {
		if err := writeFile(fs, f.name, f.data); err != nil {
			return fmt.Errorf("seed: %s: %w", f.name, err)
		}
	}
	return nil
}

func writeFile(fs filesystem.FileSystem, name string, data []byte) error {
	if err := fs.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "does not exist") {
		// A missing file is fine; anything else is not.
		if _, serr := fs.Stat(name); serr == nil {
			return err
		}
	}
	f, err := fs.OpenFile(name, os.O_CREATE|os.O_RDWR|os.O_TRUNC)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
