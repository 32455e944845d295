// Package partition reads the MBR and GPT partition tables of disk images
// and adds a cloud-init seed partition to a disk an image was written to.
//
// The image store parses every raw image it imports with a Scanner (fed
// the content as it streams past, so nothing is read twice) and records
// the Layout: the table, its partitions with the filesystem labels found
// at their starts, an existing seed partition (a vfat or iso9660
// filesystem labelled CIDATA, cidata, config-2 or CONFIG-2, which
// cloud-init's ds-identify finds without a kernel argument) and whether the
// table has room for one more. Layout.Seedable says whether a deploy of the
// image can be seeded. The installer plans the seed on the target disk
// with PlanSeed before it writes anything, and after writing and verifying
// the image carries the plan out with AddSeed: an existing seed partition is
// reused; otherwise, on GPT, the backup header moves to the end of the
// disk and a 16 MiB partition is added in the disk's last MiBs, leaving the
// space between the image's last partition and it free so the root
// filesystem can grow into it; on MBR a free primary entry gets the same
// partition. Nothing is ever placed over a partition or over the image.
//
// Limits: 512- and 4096-byte sectors; labels are read from a FAT boot
// sector and an ISO 9660 primary volume descriptor, not from a FAT root
// directory; logical partitions inside an MBR extended partition are not
// read (an extended partition counts as a used primary entry); hybrid MBRs
// are left as they are. It formats no filesystem: the installer does.
package partition
