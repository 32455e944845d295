// Command debpkg builds rackboot's Debian package with nfpm (as a library):
// the binary, the systemd unit, the commented conffile, shell completion
// and man pages generated from the CLI itself, and the maintainer scripts
// that make the rackboot user and /var/lib/rackboot (packaging/deb).
//
//	go run ./scripts/debpkg -binary build/rackboot -version 1.2.3 -out build
//
// `make deb` runs it. It writes OUT/rackboot_VERSION_amd64.deb and prints
// its path. It is a module of its own so that nfpm and its dependencies
// stay out of the appliance's build.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

// options is what the command line says.
type options struct {
	binary  string // the rackboot binary, linux/amd64
	version string // Debian version: starts with a digit
	out     string // directory of the .deb
	src     string // packaging/deb
}

func main() {
	var o options
	flag.StringVar(&o.binary, "binary", "build/rackboot", "the rackboot binary (linux/amd64) to package")
	flag.StringVar(&o.version, "version", "", "package version (Debian: starts with a digit)")
	flag.StringVar(&o.out, "out", "build", "directory to write the .deb to")
	flag.StringVar(&o.src, "src", "packaging/deb", "directory of the unit, conffile and maintainer scripts")
	flag.Parse()
	path, err := build(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "debpkg:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

var debVersion = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~-]*$`)

func build(o options) (string, error) {
	if !debVersion.MatchString(o.version) {
		return "", fmt.Errorf("-version %q: a Debian version starts with a digit and holds only letters, digits and . + ~ -", o.version)
	}
	gen, err := os.MkdirTemp("", "rackboot-deb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(gen)
	generated, err := generate(o.binary, gen)
	if err != nil {
		return "", err
	}
	info := packageInfo(o, generated)
	if err := nfpm.PrepareForPackager(nfpm.WithDefaults(info), "deb"); err != nil {
		return "", fmt.Errorf("nfpm: %w", err)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(o.out, fmt.Sprintf("rackboot_%s_amd64.deb", o.version))
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		return "", fmt.Errorf("nfpm deb: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(f.Name(), path)
}

// generate runs the binary for its completions and man pages.
func generate(binary, dir string) (files.Contents, error) {
	var c files.Contents
	comp := map[string]string{
		"bash": "/usr/share/bash-completion/completions/rackboot",
		"zsh":  "/usr/share/zsh/vendor-completions/_rackboot",
		"fish": "/usr/share/fish/vendor_completions.d/rackboot.fish",
	}
	for shell, dst := range comp {
		out, err := exec.Command(binary, "completion", shell).Output()
		if err != nil {
			return nil, fmt.Errorf("%s completion %s: %w", binary, shell, err)
		}
		src := filepath.Join(dir, "completion."+shell)
		if err := os.WriteFile(src, out, 0o644); err != nil {
			return nil, err
		}
		c = append(c, &files.Content{Source: src, Destination: dst, FileInfo: &files.ContentFileInfo{Mode: 0o644}})
	}
	man := filepath.Join(dir, "man")
	if out, err := exec.Command(binary, "man", man).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s man: %w: %s", binary, err, out)
	}
	pages, err := filepath.Glob(filepath.Join(man, "*.1"))
	if err != nil || len(pages) == 0 {
		return nil, fmt.Errorf("%s man wrote no pages (%v)", binary, err)
	}
	for _, p := range pages {
		gz := p + ".gz"
		if out, err := exec.Command("gzip", "-9n", p).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("gzip %s: %w: %s", p, err, out)
		}
		c = append(c, &files.Content{Source: gz, Destination: "/usr/share/man/man1/" + filepath.Base(gz), FileInfo: &files.ContentFileInfo{Mode: 0o644}})
	}
	return c, nil
}

func packageInfo(o options, generated files.Contents) *nfpm.Info {
	src := func(name string) string { return filepath.Join(o.src, name) }
	contents := files.Contents{
		{Source: o.binary, Destination: "/usr/bin/rackboot", FileInfo: &files.ContentFileInfo{Mode: 0o755}},
		{Source: src("rackboot.service"), Destination: "/lib/systemd/system/rackboot.service", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
		// A conffile: dpkg keeps the operator's edits on upgrade and asks
		// when both sides changed; purge removes it.
		{Source: src("rackboot.yaml"), Destination: "/etc/rackboot/rackboot.yaml", Type: files.TypeConfig, FileInfo: &files.ContentFileInfo{Mode: 0o644}},
	}
	contents = append(contents, generated...)
	return &nfpm.Info{
		Name:        "rackboot",
		Arch:        "amd64",
		Platform:    "linux",
		Version:     o.version,
		Section:     "admin",
		Priority:    "optional",
		Maintainer:  "rackboot maintainers <rackboot@localhost>",
		Description: "bare-metal provisioning appliance\nDHCP, TFTP and HTTP boot, an installer that writes OS images, cloud-init seeds,\nBMC power, a bbolt inventory, a web dashboard and a config agent, in one binary.",
		Homepage:    "https://github.com/rackboot/rackboot",
		License:     "Apache-2.0",
		MTime:       time.Unix(0, 0).UTC(),
		Overridables: nfpm.Overridables{
			// passwd: useradd and userdel in the maintainer scripts.
			// ipxe: the loaders in /usr/lib/ipxe, which the conffile's
			// TFTP server serves from; without them serve stops at start
			// ("tftp: open root"), found by scripts/debvm.
			Depends: []string{"passwd", "ipxe"},
			// The signed chain for hosts with Secure Boot on (serve
			// --uefi-loader shim, a host's uefi_loader, or its facts):
			// Debian's Microsoft-signed shim and signed network GRUB.
			Recommends: []string{"shim-signed", "grub-efi-amd64-signed"},
			Contents:   contents,
			Scripts: nfpm.Scripts{
				PostInstall: src("postinst"),
				PreRemove:   src("prerm"),
				PostRemove:  src("postrm"),
			},
		},
	}
}
