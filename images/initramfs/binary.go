package initramfs

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// ErrNotStatic means the binary needs a dynamic loader the ramdisk does not
// have; build it with CGO_ENABLED=0.
var ErrNotStatic = errors.New("binary is dynamically linked")

// readStaticBinary reads the /init binary and checks it runs alone: an ELF
// without an interpreter (PT_INTERP) needs no loader or libc.
func readStaticBinary(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("binary: %w", err)
	}
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("binary %s: %w", path, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil, fmt.Errorf("binary %s: %w", path, ErrNotStatic)
		}
	}
	return b, nil
}

// BuildBinary builds pkg (for example "./cmd/rackboot", resolved in dir) as
// a static, stripped linux/amd64 binary at out, for when the running binary
// is not one (a cgo build, or go run).
func BuildBinary(ctx context.Context, dir, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, bytes.TrimSpace(b))
	}
	return nil
}
