package provision

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
	"github.com/rackboot/rackboot/seed"
)

// DeployRequest is what an operator asks a deploy for.
type DeployRequest struct {
	Image string
	Disk  machineapi.DiskHint
	// SSHKeys are authorized_keys lines for the installed OS's default user.
	SSHKeys []string
	// UserData is the host's own user-data part (a cloud-config or a
	// script), merged before the parts its labels select (its values win
	// where both set a key; lists are appended); "" for none.
	UserData string
	Cause    string // why, for the event log
}

// hostPart names the deploy request's own user-data part in the seed.
const hostPart = "host"

// decodeHeadroom is the memory an installer keeps for itself beside the
// image's decode window.
const decodeHeadroom = 256 << 20

// RequestDeploy assigns an image to a ready host and moves it to
// deploying, in one transaction: the deploy plan, the seed (rendered now,
// with a new instance-id and agent token, the user-data its labels select
// and the request's own, and sealed), and the transition. The installer
// waiting on the host reads its instructions with Next. A request that
// cannot be carried out (no such image, an image that cannot be seeded, a
// machine too small to decode it, an SSH key or a user-data part
// cloud-init would not take) is refused here, with nothing stored.
func (l *Lifecycle) RequestDeploy(ctx context.Context, mac string, req DeployRequest, actor string) (inventory.Host, error) {
	if l.cfg.Images == nil {
		return inventory.Host{}, fmt.Errorf("no image store is configured on this appliance: %w", inventory.ErrInvalid)
	}
	img, err := l.cfg.Images.Image(req.Image)
	if errors.Is(err, images.ErrNotFound) {
		return inventory.Host{}, fmt.Errorf("image %q not found (rackboot image list): %w", req.Image, images.ErrNotFound)
	}
	if err != nil {
		return inventory.Host{}, err
	}
	if err := checkRequest(img, req); err != nil {
		return inventory.Host{}, err
	}
	labelled, err := l.store.UserDatas(ctx)
	if err != nil {
		return inventory.Host{}, err
	}
	instance, err := newInstanceID(mac)
	if err != nil {
		return inventory.Host{}, err
	}
	cause := "deploy " + req.Image
	if req.Cause != "" {
		cause += ": " + req.Cause
	}
	now := l.now()
	return l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		if err := checkDeploy(h); err != nil {
			return inventory.Edit{}, err
		}
		if err := fitsMemory(h, img); err != nil {
			return inventory.Edit{}, err
		}
		parts := userDataParts(h, labelled, req.UserData)
		h.Image, h.Progress = req.Image, nil
		h.Deploy = &inventory.DeployPlan{DiskPath: req.Disk.Path, DiskSerial: req.Disk.Serial, DiskMinSize: req.Disk.MinSize,
			SSHKeys: req.SSHKeys, UserData: partNames(parts), InstanceID: instance, RequestedAt: now}
		sd, err := l.seed(h, parts)
		if err != nil {
			return inventory.Edit{}, err
		}
		h.Deploy.Seed = &sd
		newAgentGen(h)
		return inventory.Edit{To: inventory.StateDeploying, Cause: cause, Actor: actor}, nil
	})
}

// fitsMemory refuses an image whose decoder needs more memory than the
// host's installer has (a zstd archive made with --long=31 wants 2 GiB).
func fitsMemory(h *inventory.Host, img images.Image) error {
	if img.DecodeWindow == 0 || h.Facts == nil || h.Facts.MemoryBytes == 0 {
		return nil
	}
	if img.DecodeWindow+decodeHeadroom > h.Facts.MemoryBytes {
		return fmt.Errorf("image %q needs %d MiB of memory to decompress (its zstd window) and host %s has %d MiB: re-import it with a smaller window (zstd --long=27 or less) or uncompressed: %w",
			img.Name, (img.DecodeWindow+decodeHeadroom)>>20, h.MAC, h.Facts.MemoryBytes>>20, inventory.ErrConflict)
	}
	return nil
}

// newAgentGen moves h's agent token on to a new generation (every
// earlier one ends) and opens the deploy's seed to a new claim. The sealed
// seed holds no token: ClaimSeed writes the current one in as it hands the
// seed out.
func newAgentGen(h *inventory.Host) {
	if h.Deploy == nil {
		return
	}
	h.Credentials.AgentGen++
	h.Credentials.SeedClaimedAt, h.Credentials.SeedClaimedGen = time.Time{}, 0
}

// seed renders h's seed, with seed.TokenPlaceholder where the agent token
// goes.
func (l *Lifecycle) seed(h *inventory.Host, parts []seed.Part) (machineapi.Seed, error) {
	base := strings.TrimRight(l.cfg.Boot.URL, "/")
	c := seed.Config{InstanceID: h.Deploy.InstanceID, Hostname: h.Hostname, URL: base, Token: seed.TokenPlaceholder, MAC: h.MAC,
		SSHKeys: h.Deploy.SSHKeys, UserData: parts, Agent: machineapi.URL(base, machineapi.PathAgentBinary, h.MAC)}
	if c.Hostname == "" {
		c.Hostname = "rackboot-" + strings.ReplaceAll(h.MAC, ":", "")
	}
	if n := h.Network; n != nil {
		c.Network = &seed.Network{Address: n.Address, Gateway: n.Gateway, DNS: n.DNS}
	}
	sd, err := seed.Render(c)
	if err != nil {
		return sd, fmt.Errorf("%v: %w", err, inventory.ErrInvalid)
	}
	return sd, nil
}

// Next is the installer's instruction for the host mac, from its record
// alone: a quick wipe asked with release comes first (before a deploy
// too), then a deploying host deploys; every other one waits. It writes
// nothing: a deploy that cannot go on (its image removed) is answered
// ActionFail, and the installer reports the failure.
func (l *Lifecycle) Next(ctx context.Context, mac string) (machineapi.Next, error) {
	h, err := l.store.Host(ctx, mac)
	if err != nil {
		return machineapi.Next{}, err
	}
	n := machineapi.Next{Action: machineapi.ActionWait, State: string(h.State)}
	if h.Wipe != nil && (h.State == inventory.StateReady || h.State == inventory.StateDeploying) {
		n.Action = machineapi.ActionWipe
		return n, nil
	}
	if h.State != inventory.StateDeploying {
		return n, nil
	}
	d, cause, err := l.deployOf(ctx, &h)
	if err != nil {
		return n, err
	}
	if cause != "" {
		n.Action, n.Cause = machineapi.ActionFail, cause
		return n, nil
	}
	n.Action, n.Deploy = machineapi.ActionDeploy, d
	return n, nil
}

// deployOf is the deploy instruction of a deploying host, or the cause
// that keeps it from going on.
func (l *Lifecycle) deployOf(ctx context.Context, h *inventory.Host) (*machineapi.Deploy, string, error) {
	if l.cfg.Images == nil {
		return nil, "no image store is configured on this appliance", nil
	}
	img, err := l.cfg.Images.Image(h.Image)
	if errors.Is(err, images.ErrNotFound) {
		return nil, fmt.Sprintf("image %q is no longer in the image store", h.Image), nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("host %s: image %q: %w", h.MAC, h.Image, err)
	}
	if h.Deploy == nil || !h.Deploy.HasSeed {
		return nil, "the deploy has no seed: request it again", nil
	}
	d := &machineapi.Deploy{ImageURL: machineapi.URL(l.cfg.Boot.URL, machineapi.PathImage, h.MAC), SHA256: img.SHA256,
		Size: img.Size, Compression: string(img.Compression)}
	if img.Layout != nil {
		d.SeedPartition = img.Layout.SeedPartition()
	}
	if p := h.Deploy; p != nil {
		d.Disk = machineapi.DiskHint{Path: p.DiskPath, Serial: p.DiskSerial, MinSize: p.DiskMinSize}
	}
	return d, "", nil
}

// Progress stores how far the deploy's write has come, on the host and
// not in its event log.
func (l *Lifecycle) Progress(ctx context.Context, mac string, p machineapi.Progress) error {
	if p.Written < 0 || p.Total <= 0 || p.Written > p.Total || p.RateBPS < 0 {
		return fmt.Errorf("malformed progress: written %d of %d at %d B/s: %w", p.Written, p.Total, p.RateBPS, inventory.ErrInvalid)
	}
	now := l.now()
	_, err := l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		if h.State != inventory.StateDeploying {
			return inventory.Edit{}, notDeploying(h)
		}
		h.Progress = &inventory.DeployProgress{Progress: p, UpdatedAt: now}
		return inventory.Edit{Quiet: true}, nil
	})
	return err
}

func notDeploying(h *inventory.Host) error {
	return fmt.Errorf("host %s is %s, not deploying: %w", h.MAC, h.State, inventory.ErrConflict)
}

// Deployed records the image written, verified and seeded: the host moves
// to deployed, and every later PXE boot of it boots its disk.
func (l *Lifecycle) Deployed(ctx context.Context, mac string, d machineapi.Deployed) (inventory.Host, error) {
	rate := 0.0
	if d.Seconds > 0 {
		rate = float64(d.Written) / d.Seconds / 1e6
	}
	h, err := l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		if h.State != inventory.StateDeploying {
			return inventory.Edit{}, notDeploying(h)
		}
		if h.Wipe != nil {
			return inventory.Edit{}, fmt.Errorf("host %s has a quick wipe pending: a deploy cannot have run yet: %w", mac, inventory.ErrConflict)
		}
		if h.Progress != nil {
			h.Progress.Written = h.Progress.Total
		}
		disarm(h) // the installer's work is done: its token ends
		cause := fmt.Sprintf("image %s written to %s and verified: %d bytes in %.1f s (%.1f MB/s)", h.Image, d.Disk, d.Written, d.Seconds, rate)
		return inventory.Edit{To: inventory.StateDeployed, Cause: cause, Actor: "installer"}, nil
	})
	if err == nil {
		l.log.Info("host deployed", "mac", mac, "image", h.Image, "disk", d.Disk, "seconds", d.Seconds)
	}
	return h, err
}

// Failed records the installer's failure: a failed quick wipe fails the
// host in the state it was in (ready, or deploying when a deploy waits
// behind the wipe) and keeps the request, so retry wipes again; otherwise
// it fails a deploying host.
func (l *Lifecycle) Failed(ctx context.Context, mac, cause string) (inventory.Host, error) {
	if cause == "" {
		return inventory.Host{}, fmt.Errorf("malformed report: no cause: %w", inventory.ErrInvalid)
	}
	what := "deploy"
	h, err := l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		switch {
		case h.Wipe != nil && (h.State == inventory.StateReady || h.State == inventory.StateDeploying):
			what = "wipe"
		case h.State != inventory.StateDeploying:
			return inventory.Edit{}, notDeploying(h)
		}
		return inventory.Edit{To: inventory.StateFailed, Cause: cause, Actor: "installer"}, nil
	})
	if err == nil {
		l.log.Warn(what+" failed", "mac", mac, "image", h.Image, "cause", cause)
	}
	return h, err
}

// Wiped records a finished quick wipe and clears the request, which lets
// the installer go on to what comes next (a deploy, or waiting).
func (l *Lifecycle) Wiped(ctx context.Context, mac string, w machineapi.Wiped) (inventory.Host, error) {
	if len(w.Disks) == 0 {
		return inventory.Host{}, fmt.Errorf("malformed report: no disks: %w", inventory.ErrInvalid)
	}
	var parts []string
	for _, d := range w.Disks {
		table := cmp.Or(d.Table, "no partition table")
		parts = append(parts, fmt.Sprintf("%s (%s, %d partitions, %d MiB zeroed)", d.Disk, table, d.Partitions, d.Zeroed>>20))
	}
	took := time.Duration(w.Seconds * float64(time.Second)).Round(time.Millisecond)
	cause := fmt.Sprintf("quick wipe: %s in %v", strings.Join(parts, ", "), took)
	return l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		if h.Wipe == nil {
			return inventory.Edit{}, fmt.Errorf("host %s has no wipe pending: %w", mac, inventory.ErrConflict)
		}
		h.Wipe = nil
		return inventory.Edit{Type: "wiped", Cause: cause, Actor: "installer"}, nil
	})
}

// ClaimSeed hands the deploy's seed (with the agent token the installed
// OS will hold) to the installer of the host's current boot, whose boot
// token the caller checked: the first claim of a seed takes it, the same
// boot may ask again, and any other claim is refused and logged.
func (l *Lifecycle) ClaimSeed(ctx context.Context, mac, from string) (machineapi.Seed, error) {
	now := l.now()
	h, err := l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		cr := &h.Credentials
		if h.State != inventory.StateDeploying || h.Deploy == nil || !h.Deploy.HasSeed {
			return inventory.Edit{}, fmt.Errorf("host %s is %s: no seed to hand out: %w", mac, h.State, inventory.ErrConflict)
		}
		switch {
		case cr.SeedClaimedAt.IsZero():
			cr.SeedClaimedAt, cr.SeedClaimedGen = now, cr.BootGen
			return inventory.Edit{Type: "seed-claimed", Cause: "the installer took the deploy's seed from " + from, Actor: "installer"}, nil
		case cr.SeedClaimedGen == cr.BootGen:
			return inventory.Edit{}, nil // the same boot asks again
		}
		return inventory.Edit{}, fmt.Errorf("host %s: the deploy's seed was handed out at %s to an earlier boot; retry the deploy to make a new one: %w",
			mac, cr.SeedClaimedAt.Format(time.RFC3339), ErrClaimed)
	})
	if errors.Is(err, ErrClaimed) {
		l.refused(ctx, mac, err, from)
	}
	if err != nil {
		return machineapi.Seed{}, err
	}
	sd, err := l.store.DeploySeed(ctx, mac)
	if err != nil {
		return machineapi.Seed{}, err
	}
	return seed.WithToken(sd, l.tokens.mintAgent(&h))
}
