// Package machineapi is the wire contract between the appliance and the
// programs that run on machines: the installer ramdisk and the config
// agent. It holds the paths of the machine-facing HTTP side, the kernel
// command-line keys the boot script hands the installer, and the JSON
// bodies each side sends, and nothing else: no behaviour, no dependency
// beyond the standard library, so the appliance, the installer and the
// agent all import this one declaration and cannot drift apart.
//
// Every request names its host with ?mac= (lowercase, colon-separated) and
// carries a per-host token as "Authorization: Bearer TOKEN": a boot token
// for the installer, an agent token for the agent. Errors are plain text
// with a 4xx or 5xx status.
package machineapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
)

// Paths of the machine API, below the appliance's machine-facing base URL
// (the installer's rackboot.url, the agent's --server).
const (
	PathInspect   = "/machine/v1/inspect"   // POST InspectReport → Status
	PathNext      = "/machine/v1/next"      // GET → Next (long poll: ?wait=)
	PathImage     = "/machine/v1/image"     // GET: the image blob, with Range
	PathProgress  = "/machine/v1/progress"  // POST Progress → Status
	PathDeployed  = "/machine/v1/deployed"  // POST Deployed → Status
	PathFailed    = "/machine/v1/failed"    // POST Failed → Status
	PathWiped     = "/machine/v1/wiped"     // POST Wiped → Status
	PathClaim     = "/machine/v1/claim"     // POST Claim → Claimed (no token: it hands out the boot token)
	PathSeed      = "/machine/v1/seed"      // POST {} → Seed, once per deploy (boot token)
	PathFirstBoot = "/machine/v1/firstboot" // POST FirstBoot → Status (agent token)

	PathAgentConfig = "/machine/v1/agent/config" // GET → Graph (long poll: ?version=, ?wait=), 304 when unchanged
	PathAgentStatus = "/machine/v1/agent/status" // POST AgentReport → AgentState
	PathAgentBinary = "/machine/v1/agent/binary" // GET: the appliance's rackboot executable
	PathAgentExport = "/machine/v1/agent/export" // POST Export → Status

	// PathPeerBlob + sha256 hex: an image blob, to another appliance of
	// the same inventory (Authorization: Bearer PeerBlobToken).
	PathPeerBlob = "/peer/v1/blobs/sha256/"
)

// PeerBlobToken is what an appliance shows to fetch a blob from a peer:
// an HMAC of the digest under a key both derive from their shared sealing
// key, so only appliances holding it fetch, and a token names one blob.
func PeerBlobToken(key []byte, digest string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(digest))
	return hex.EncodeToString(m.Sum(nil))
}

// Query parameters.
const (
	ParamMAC     = "mac"     // the host the request speaks for
	ParamWait    = "wait"    // longest a long poll may wait, a Go duration up to 60s
	ParamVersion = "version" // the graph version an agent runs
)

// URL is base + path with ?mac=mac: the address of one host's call. A
// MAC as rackboot writes it (hex digits and colons) is left as it is,
// which a query allows; anything else is escaped.
func URL(base, path, mac string) string {
	if strings.Trim(mac, "0123456789abcdefABCDEF:") != "" {
		mac = url.QueryEscape(mac)
	}
	return strings.TrimRight(base, "/") + path + "?" + ParamMAC + "=" + mac
}

// Kernel command-line keys the boot script gives the installer. The boot
// token is not among them: the installer claims it (PathClaim).
const (
	CmdlineURL  = "rackboot.url"  // the machine-facing base URL
	CmdlineMAC  = "rackboot.mac"  // the MAC the host booted from
	CmdlineMode = "rackboot.mode" // inspect or deploy, for the console only
)

// Status is the answer to a report: what the appliance made of it.
type Status struct {
	Status string `json:"status"`
}

// Claim is the installer's first call: it is up on the host and claims
// the boot token of this boot. The appliance hands a boot's token out
// once; Nonce, random per installer run, lets the same installer repeat a
// claim whose answer it lost.
type Claim struct {
	Nonce string `json:"nonce"`          // 16 to 64 bytes of random text, base64 or hex
	Mode  string `json:"mode,omitempty"` // the mode it was booted in, for the record
}

// Claimed answers a Claim: the boot token and the host's state.
type Claimed struct {
	Token string `json:"token"`
	State string `json:"state"`
}

// InspectReport is what the installer found on the machine.
type InspectReport struct {
	MAC   string `json:"mac"`
	Facts *Facts `json:"facts"` // required
}

// Actions of Next.
const (
	ActionWait   = "wait"   // nothing to do: ask again
	ActionWipe   = "wipe"   // quick-wipe every non-removable disk, then report Wiped
	ActionDeploy = "deploy" // write Deploy to disk, then report Deployed
	ActionFail   = "fail"   // the deploy cannot be carried out: report Failed with Cause
)

// Next is the installer's instruction. Asking for it changes nothing on
// the appliance: what it says follows from the host's record alone.
type Next struct {
	Action string  `json:"action"`
	State  string  `json:"state,omitempty"` // the host's lifecycle state, for the console
	Deploy *Deploy `json:"deploy,omitempty"`
	Cause  string  `json:"cause,omitempty"` // why, with ActionFail
}

// Deploy is what to write where: the image's URL, what its uncompressed
// content hashes to, how it is stored, and the disk. The seed to add is
// taken with a POST to PathSeed, once.
type Deploy struct {
	ImageURL string `json:"image_url"`
	// SHA256 (hex) and Size describe the uncompressed content.
	SHA256      string   `json:"sha256"`
	Size        int64    `json:"size"`
	Compression string   `json:"compression"` // none, gzip, xz or zstd
	Disk        DiskHint `json:"disk"`
	// SeedPartition is the image's own partition labelled CIDATA or
	// config-2, found at import, which the seed reuses; 0 when the
	// installer adds one. The installer checks before writing that the
	// seed has a place, and reads the disk again after.
	SeedPartition int `json:"seed_partition,omitempty"`
}

// DiskHint narrows the target disk; the zero hint means the first
// non-removable disk that fits.
type DiskHint struct {
	Path    string `json:"path,omitempty"`
	Serial  string `json:"serial,omitempty"`
	MinSize uint64 `json:"min_size,omitempty"`
}

// Seed is the host's cloud-init NoCloud seed: files the installer writes,
// byte for byte, into a FAT filesystem labelled CIDATA.
type Seed struct {
	MetaData      string `json:"meta_data"`
	UserData      string `json:"user_data"`
	NetworkConfig string `json:"network_config,omitempty"`
	// Rackboot is the file SeedRackbootFile: the appliance's URL, the
	// agent token and the SSH keys as plain key=value lines, for images
	// without cloud-init (the test image); cloud-init ignores it.
	Rackboot string `json:"rackboot,omitempty"`
}

// SeedRackbootFile is the name of Seed.Rackboot in the seed filesystem.
const SeedRackbootFile = "rackboot.seed"

// Progress is how far a deploy's write has come.
type Progress struct {
	Written int64 `json:"written"`  // bytes of image content written
	Total   int64 `json:"total"`    // bytes of image content in all
	RateBPS int64 `json:"rate_bps"` // bytes per second, recent
}

// Deployed reports an image written, verified and seeded.
type Deployed struct {
	Disk    string  `json:"disk"`
	Written int64   `json:"written"`
	Seconds float64 `json:"seconds"`
}

// Failed reports a deploy or wipe that failed, with its cause.
type Failed struct {
	Cause string `json:"cause"`
}

// Wiped reports a finished quick wipe.
type Wiped struct {
	Disks   []WipedDisk `json:"disks"`
	Seconds float64     `json:"seconds"`
}

// WipedDisk is one disk of a quick wipe.
type WipedDisk struct {
	Disk       string `json:"disk"`
	Size       int64  `json:"size"`
	Table      string `json:"table,omitempty"` // partition table found: gpt, mbr or ""
	Partitions int    `json:"partitions"`
	Zeroed     int64  `json:"zeroed"` // bytes made zero
}

// FirstBoot is an installed OS's first report: the proof that it booted
// from its own disk.
type FirstBoot struct {
	MAC      string `json:"mac"`
	Event    string `json:"event"`
	Firmware string `json:"firmware"`
}
