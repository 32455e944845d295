package seed

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// meta is NoCloud's meta-data. public-keys is read by cloud-init's
// datasource base and given to the image's default user (debian, ubuntu,
// cloud-user, …) along with any ssh_authorized_keys of the user-data.
type meta struct {
	InstanceID    string   `yaml:"instance-id"`
	LocalHostname string   `yaml:"local-hostname"`
	PublicKeys    []string `yaml:"public-keys,omitempty"`
}

// metaData is the meta-data file, YAML written by a YAML encoder so that
// any key (quotes, colons, non-ASCII comments) comes out as one string.
func metaData(c Config) (string, error) {
	b, err := yaml.Marshal(meta{InstanceID: c.InstanceID, LocalHostname: c.Hostname, PublicKeys: c.SSHKeys})
	if err != nil {
		return "", fmt.Errorf("meta-data: %w", err)
	}
	return string(b), nil
}
