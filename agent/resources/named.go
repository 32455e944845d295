package resources

// Named gives a resource its name; every kind embeds it.
type Named struct {
	ResName string
}

// Name returns the resource's name.
func (n Named) Name() string { return n.ResName }

// SetName sets the resource's name; the config parser calls it.
func (n *Named) SetName(name string) { n.ResName = name }
