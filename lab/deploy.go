package lab

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// ImageName is what Up imports Config.Image as.
const ImageName = "lab-image"

// provide imports the image and applies the agent config of cfg, for
// the VMs Up creates (labelled lab=yes).
func (l *Lab) provide(ctx context.Context, cfg Config) error {
	if cfg.Image != "" {
		l.say("image: importing %s as %s", cfg.Image, ImageName)
		// --replace: a lab brought up again in the same directory keeps the
		// data dir, and with it the image an earlier up imported.
		if out, err := l.CLI(ctx, nil, "image", "import", cfg.Image, "--name", ImageName, "--replace"); err != nil {
			return fmt.Errorf("image import %s: %w: %s", cfg.Image, err, strings.TrimSpace(out))
		}
	}
	if cfg.AgentConfig != "" {
		l.say("agent config: %s for lab=yes", cfg.AgentConfig)
		if out, err := l.CLI(ctx, nil, "config", "apply", cfg.AgentConfig, "--name", "lab", "--selector", "lab=yes"); err != nil {
			return fmt.Errorf("config apply %s: %w: %s", cfg.AgentConfig, err, strings.TrimSpace(out))
		}
	}
	return nil
}

// DeployWhenReady deploys image to each VM once it is ready, once, until
// ctx ends; a deploy that the appliance refuses is reported to errs and
// not tried again.
func (l *Lab) DeployWhenReady(ctx context.Context, image string, errs func(error)) {
	done := map[string]bool{}
	for len(done) < len(l.VMs) {
		for _, v := range l.VMs {
			if done[v.MAC] {
				continue
			}
			h, err := l.Host(ctx, v.MAC)
			if err != nil || h.State != inventory.StateReady {
				continue
			}
			done[v.MAC] = true
			if out, err := l.CLI(ctx, nil, "host", "deploy", v.MAC, "--image", image); err != nil && ctx.Err() == nil {
				errs(fmt.Errorf("deploy %s: %w: %s", v.Name, err, strings.TrimSpace(out)))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}
