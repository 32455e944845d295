// Package testimage builds and seeds rackboot's test OS image: a small GPT
// disk that boots under SeaBIOS and under OVMF into a busybox system, reads
// the seed the installer wrote, and reports its first boot to the appliance
// (or runs `rackboot agent`).
//
// scripts/test-image (`make test-image`) makes the pieces from Debian's
// packages (the EFI system partition with the kernel, the initramfs and
// syslinux) and calls Assemble, through scripts/testimage, to lay out the
// disk. The installer's WriteSeed fills its CIDATA partition; README.md
// in this folder is the contract for both.
//
// Layout (512-byte sectors, every partition 1 MiB aligned):
//
//	LBA 0        protective MBR; its first 440 bytes are syslinux's gptmbr.bin
//	LBA 1-33     primary GPT
//	partition 1  EFI system partition, FAT32 labelled ESP, GPT attribute bit 2
//	             (legacy BIOS bootable) set; starts at 1 MiB
//	partition 2  CIDATA: FAT16 labelled CIDATA, GPT name CIDATA, type
//	             Microsoft basic data, 16 MiB, empty until the installer seeds it
//	last 1 MiB   free, then the backup GPT in the last 33 sectors
package testimage
