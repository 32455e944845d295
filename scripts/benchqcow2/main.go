// Command benchqcow2 imports one image file into a fresh image store, as
// `rackboot serve` does for an upload (one streaming pass; a qcow2 is
// converted to a sparse raw blob), and prints the record: the unit that
// scripts/bench-qcow2 times and measures against qemu-img convert.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/rackboot/rackboot/images"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchqcow2:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 3 {
		return fmt.Errorf("usage: benchqcow2 FILE STORE-DIR")
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		return err
	}
	defer f.Close()
	s, err := images.Open(os.Args[2], images.Options{})
	if err != nil {
		return err
	}
	img, err := s.Import(context.Background(), f, images.ImportOptions{Name: "bench"})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"sha256": img.SHA256, "size": img.Size, "source_format": img.SourceFormat})
}
