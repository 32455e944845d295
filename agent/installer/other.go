//go:build !linux

package installer

import (
	"context"
	"errors"
	"log/slog"
	"os"
)

var errNotLinux = errors.New("the installer runs on Linux only")

// Main exists so the rackboot binary builds elsewhere; the installer
// ramdisk is Linux.
func Main() {
	os.Stderr.WriteString(ConsolePrefix + errNotLinux.Error() + "\n")
	os.Exit(1)
}

func finitModule(*os.File) error { return errNotLinux }

func bringUpNetwork(context.Context, Cmdline, *slog.Logger) (string, error) {
	return "", errNotLinux
}
