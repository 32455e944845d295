// Command testimage does the Go half of scripts/test-image (see
// images/testimage):
//
//	go run ./scripts/testimage initramfs ROOT OUT.gz
//	go run ./scripts/testimage disk -esp ESP.img -mbr gptmbr.bin [-cidata-mb 16] -out DISK.raw
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/rackboot/rackboot/images/testimage"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "initramfs":
		if len(os.Args) != 4 {
			usage()
		}
		err = testimage.WriteInitramfs(os.Args[2], os.Args[3])
	case "disk":
		var cfg testimage.AssembleConfig
		var seedMB int64
		fl := flag.NewFlagSet("disk", flag.ExitOnError)
		fl.StringVar(&cfg.ESPImage, "esp", "", "FAT image of the EFI system partition (syslinux installed)")
		fl.StringVar(&cfg.MBRCode, "mbr", "", "syslinux gptmbr.bin for the protective MBR's boot code")
		fl.Int64Var(&seedMB, "cidata-mb", 16, "size of the empty CIDATA seed partition in MiB")
		fl.StringVar(&cfg.Out, "out", "", "disk image to write")
		fl.Parse(os.Args[2:])
		if cfg.ESPImage == "" || cfg.Out == "" || fl.NArg() != 0 {
			usage()
		}
		cfg.SeedSize = seedMB << 20
		err = testimage.Assemble(cfg)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testimage:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: testimage initramfs ROOT OUT.gz\n       testimage disk -esp ESP.img [-mbr gptmbr.bin] [-cidata-mb 16] -out DISK.raw")
	os.Exit(2)
}
