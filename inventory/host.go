package inventory

import (
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/rackboot/rackboot/machineapi"
)

// Host is one machine rackboot knows about, keyed by the MAC address of the
// NIC it boots from.
type Host struct {
	MAC      string            `json:"mac"`
	UUID     string            `json:"uuid,omitempty"`
	Serial   string            `json:"serial,omitempty"`
	Hostname string            `json:"hostname,omitempty"`
	IP       string            `json:"ip,omitempty"` // DHCP reservation
	Labels   map[string]string `json:"labels,omitempty"`
	// Network is a static address for the installed OS; nil means DHCP.
	Network *HostNetwork `json:"network,omitempty"`
	// UEFILoader is what the host's UEFI firmware is offered first, "ipxe"
	// or "shim" (the signed chain); empty follows the appliance's
	// --uefi-loader. Facts saying Secure Boot is on override "ipxe".
	UEFILoader string `json:"uefi_loader,omitempty"`

	State          State     `json:"state"`
	StateChangedAt time.Time `json:"state_changed_at"`
	Failure        *Failure  `json:"failure,omitempty"`

	Image    string          `json:"image,omitempty"`
	Deploy   *DeployPlan     `json:"deploy,omitempty"`
	Progress *DeployProgress `json:"progress,omitempty"` // the running (or last) deploy's write
	Wipe     *WipeRequest    `json:"wipe,omitempty"`     // a quick wipe not yet done
	BMC      *BMC            `json:"bmc,omitempty"`
	Facts    *Facts          `json:"facts,omitempty"`
	Agent    *AgentStatus    `json:"agent,omitempty"`
	// RenderFailure is set while the newest graph of the host's configs
	// does not render for it; the host keeps its last good graph.
	RenderFailure *RenderFailure `json:"render_failure,omitempty"`

	// Credentials is where the host's machine credentials stand; the
	// Store sets UID at creation, package provision the rest.
	Credentials Credentials `json:"credentials"`

	// Version increases by one on every stored change; PATCH callers pass
	// it back to detect lost updates.
	Version   uint64    `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Failure records why a host failed and the state it left, so retry knows
// where to return.
type Failure struct {
	Cause string `json:"cause"`
	From  State  `json:"from"`
}

// BMC is how to reach a host's baseboard management controller. Password is
// never serialised: the Store seals it at rest and the API reports only
// whether one is set.
type BMC struct {
	Address     string `json:"address"`
	Protocol    string `json:"protocol"` // "redfish" or "ipmi"
	Username    string `json:"username,omitempty"`
	Password    string `json:"-"`
	HasPassword bool   `json:"has_password"`
	PowerState  string `json:"power_state,omitempty"`
	Fault       string `json:"fault,omitempty"`
}

// DeployPlan is what an operator asked for with the image: where to write
// it and what to put in the host's seed. The seed itself is rendered when
// the deploy is requested and kept sealed: Seed is write-only, like a BMC
// password (the Store seals it; DeploySeed returns it), and HasSeed says
// whether one is stored.
type DeployPlan struct {
	DiskPath    string           `json:"disk_path,omitempty"`
	DiskSerial  string           `json:"disk_serial,omitempty"`
	DiskMinSize uint64           `json:"disk_min_size,omitempty"`
	SSHKeys     []string         `json:"ssh_keys,omitempty"`
	UserData    []string         `json:"user_data,omitempty"`   // the user-data parts in the seed, by name
	InstanceID  string           `json:"instance_id,omitempty"` // the seed's cloud-init instance-id
	Seed        *machineapi.Seed `json:"-"`
	HasSeed     bool             `json:"has_seed,omitempty"`
	RequestedAt time.Time        `json:"requested_at,omitzero"`
}

// DeployProgress is how far a deploy's write has come, as the installer
// last reported it: numbers, kept on the host, never in its event log.
type DeployProgress struct {
	machineapi.Progress
	UpdatedAt time.Time `json:"updated_at"`
}

// Percent is the share written, 0-100.
func (p *DeployProgress) Percent() int {
	if p == nil || p.Total <= 0 {
		return 0
	}
	return int(min(p.Written, p.Total) * 100 / p.Total)
}

// Credentials is where a host's machine credentials stand. Tokens are
// HMACs over the host's UID and a generation; a token of another UID (a
// deleted and re-enrolled MAC) or of an earlier generation is refused, so
// moving a generation on ends every token minted under the old one, with
// no clock involved. Package provision moves them; see its doc.
type Credentials struct {
	// UID is random, set by the Store when the host is created.
	UID string `json:"uid"`
	// BootGen is the generation of the boot token; BootArmed says a new
	// boot of the installer may claim it (once), BootClaimedAt and
	// BootClaimedFrom when and from where the current one was claimed.
	BootGen         uint64    `json:"boot_gen,omitempty"`
	BootArmed       bool      `json:"boot_armed,omitempty"`
	BootClaimedAt   time.Time `json:"boot_claimed_at,omitzero"`
	BootClaimedFrom string    `json:"boot_claimed_from,omitempty"`
	// BootNonce is the SHA-256 of the claiming installer's random nonce,
	// so that installer (and only it) may repeat its claim after a lost
	// answer; the hash opens nothing.
	BootNonce string `json:"boot_nonce_sha256,omitempty"`
	// AgentGen is the generation of the agent token the host's installed
	// OS holds (minted into its seed when the deploy is requested).
	AgentGen uint64 `json:"agent_gen,omitempty"`
	// SeedClaimedAt and SeedClaimedGen say when, and by the installer of
	// which boot generation, the deploy's seed was handed out.
	SeedClaimedAt  time.Time `json:"seed_claimed_at,omitzero"`
	SeedClaimedGen uint64    `json:"seed_claimed_gen,omitempty"`
}

// WipeRequest is a quick wipe of a host's disks asked for with release.
// The installer carries it out before anything else and the appliance
// clears it when the installer reports the disks wiped.
type WipeRequest struct {
	RequestedAt time.Time `json:"requested_at"`
	Actor       string    `json:"actor,omitempty"`
}

// Facts are what the installer found on the machine, stored as the
// installer reported them (the wire type is the record: one declaration).
type Facts = machineapi.Facts

// Disk and NIC are the parts of Facts.
type (
	Disk = machineapi.Disk
	NIC  = machineapi.NIC
)

// AgentStatus is what the config agent on an installed host last reported,
// and when.
type AgentStatus struct {
	machineapi.AgentReport
	LastCheckIn time.Time `json:"last_check_in"`
}

// RenderFailure is why a host's configs do not render for it now: the
// config and the error, which names the line, column and function (or,
// for rendered YAML that does not parse, the line of the output). The
// host keeps Graph, the last graph that rendered ("" when none has).
type RenderFailure struct {
	Config string    `json:"config"`
	Error  string    `json:"error"`
	Graph  string    `json:"graph,omitempty"`
	Since  time.Time `json:"since"`
}

// ResourceStatus is one resource of the agent's graph, as last reported.
type ResourceStatus = machineapi.ResourceStatus

// NormalizeMAC parses s as a 48-bit MAC address and returns it lowercase and
// colon-separated, the one form rackboot uses everywhere.
func NormalizeMAC(s string) (string, error) {
	hw, err := net.ParseMAC(strings.TrimSpace(s))
	if err != nil || len(hw) != 6 {
		return "", invalid("mac", "%q is not a 48-bit MAC address", s)
	}
	return hw.String(), nil
}

var (
	hostnameRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
	labelKeyRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,62}[A-Za-z0-9])?$`)
)

// Validate checks every operator-settable field and returns an
// *InvalidError naming the first one that is wrong.
func (h *Host) Validate() error {
	if _, err := NormalizeMAC(h.MAC); err != nil {
		return err
	}
	if h.Hostname != "" && (len(h.Hostname) > 253 || !hostnameRE.MatchString(h.Hostname)) {
		return invalid("hostname", "%q is not a valid lowercase DNS name", h.Hostname)
	}
	if h.IP != "" {
		if a, err := netip.ParseAddr(h.IP); err != nil || !a.Is4() {
			return invalid("ip", "%q is not an IPv4 address", h.IP)
		}
	}
	if len(h.Labels) > MaxLabels {
		return invalid("labels", "%d labels, more than %d", len(h.Labels), MaxLabels)
	}
	for k, v := range h.Labels {
		if !labelKeyRE.MatchString(k) {
			return invalid("labels", "key %q must be 1-64 letters, digits, '.', '_', '-' or '/'", machineapi.Printable(k))
		}
		if err := machineapi.CheckText(v, 256); err != nil {
			return invalid("labels", "value of %q: %v", k, err)
		}
	}
	for _, f := range []struct{ name, v string }{{"uuid", h.UUID}, {"serial", h.Serial}, {"image", h.Image}} {
		if err := machineapi.CheckText(f.v, machineapi.MaxID); err != nil {
			return invalid(f.name, "%v", err)
		}
	}
	if _, err := ParseState(string(h.State)); err != nil {
		return err
	}
	if h.UEFILoader != "" && h.UEFILoader != "ipxe" && h.UEFILoader != "shim" {
		return invalid("uefi_loader", "%q is not one of ipxe, shim (or empty: the appliance's --uefi-loader)", machineapi.Printable(h.UEFILoader))
	}
	if err := h.Network.validate(); err != nil {
		return err
	}
	return h.BMC.validate()
}

// MaxLabels is the most labels a host may carry.
const MaxLabels = 64

func (b *BMC) validate() error {
	if b == nil {
		return nil
	}
	if b.Address == "" {
		return invalid("bmc.address", "must not be empty")
	}
	if err := machineapi.CheckText(b.Address, 256); err != nil {
		return invalid("bmc.address", "%v", err)
	}
	if hasUserinfo(b.Address) {
		return invalid("bmc.address", "holds credentials (user:password@): give them as bmc.username and bmc.password, which are kept sealed and never shown")
	}
	if err := machineapi.CheckText(b.Username, machineapi.MaxID); err != nil {
		return invalid("bmc.username", "%v", err)
	}
	if b.Protocol != "redfish" && b.Protocol != "ipmi" {
		return invalid("bmc.protocol", "%q is not one of redfish, ipmi", b.Protocol)
	}
	return nil
}

// Clone returns a deep copy, so callers may change it without touching the
// Store's index.
func (h Host) Clone() Host {
	c := h
	if h.Labels != nil {
		c.Labels = make(map[string]string, len(h.Labels))
		for k, v := range h.Labels {
			c.Labels[k] = v
		}
	}
	c.Network = h.Network.clone()
	if h.Failure != nil {
		f := *h.Failure
		c.Failure = &f
	}
	if h.BMC != nil {
		b := *h.BMC
		c.BMC = &b
	}
	if h.Facts != nil {
		f := *h.Facts
		f.Disks = append([]Disk(nil), h.Facts.Disks...)
		f.NICs = append([]NIC(nil), h.Facts.NICs...)
		c.Facts = &f
	}
	if h.Wipe != nil {
		w := *h.Wipe
		c.Wipe = &w
	}
	if h.Deploy != nil {
		d := *h.Deploy
		d.SSHKeys = append([]string(nil), h.Deploy.SSHKeys...)
		d.UserData = append([]string(nil), h.Deploy.UserData...)
		if d.Seed != nil {
			sd := *d.Seed
			d.Seed = &sd
		}
		c.Deploy = &d
	}
	if h.Progress != nil {
		p := *h.Progress
		c.Progress = &p
	}
	if h.RenderFailure != nil {
		rf := *h.RenderFailure
		c.RenderFailure = &rf
	}
	if h.Agent != nil {
		a := *h.Agent
		a.Resources = append([]ResourceStatus(nil), h.Agent.Resources...)
		c.Agent = &a
	}
	return c
}

// hasUserinfo reports whether a BMC address ("10.0.0.5", "10.0.0.5:623",
// "https://bmc.example:8443/") carries credentials before its host.
func hasUserinfo(addr string) bool {
	if u, err := url.Parse(addr); err == nil && u.User != nil {
		return true
	}
	rest := addr
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return strings.Contains(rest, "@")
}
