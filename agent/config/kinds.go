package config

import (
	"github.com/rackboot/rackboot/agent/engine"
	"github.com/rackboot/rackboot/agent/resources"
)

// resource is what every kind offers the parser: an engine resource whose
// name can be set.
type resource interface {
	engine.Resource
	SetName(string)
}

// newResource returns an empty resource of kind, or nil for an unknown kind.
// A switch, not a registry: the list of kinds is fixed at compile time.
func newResource(kind string) resource {
	switch kind {
	case "file":
		return &resources.File{}
	case "exec":
		return &resources.Exec{}
	case "hostname":
		return &resources.Hostname{}
	case "sysctl":
		return &resources.Sysctl{}
	case "user":
		return &resources.User{}
	case "group":
		return &resources.Group{}
	case "ssh-key":
		return &resources.SSHKey{}
	case "pkg":
		return &resources.Pkg{}
	case "svc":
		return &resources.Svc{}
	case "export":
		return &resources.Export{}
	}
	return nil
}

// Kinds lists the resource kinds a config may use.
func Kinds() []string {
	return []string{"file", "exec", "hostname", "sysctl", "user", "group", "ssh-key", "pkg", "svc", "export"}
}
