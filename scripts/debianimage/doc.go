// Package debianimage tests scripts/debian-image, the Debian 12 image
// shaped like Debian's generic cloud image: it builds the image (or takes
// it from the cache outside the clone) and boots copy-on-write overlays of
// it in QEMU under SeaBIOS, OVMF and OVMF with Secure Boot, each with a
// NoCloud seed disk, reading cloud-init's results on the serial console.
// It has no code of its own outside its tests.
//
// The test needs root (the script runs mmdebstrap), QEMU with its firmware
// (scripts/ci-deps) and Debian's package archive for a cold build, which
// takes 3-7 minutes; the boots take 2-4 minutes under TCG. Run it with
// a timeout above go test's default 10 minutes:
//
//	go test -count=1 -timeout 30m ./scripts/debianimage
package debianimage
