package machine

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/boottrace"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

//go:embed templates/*.ipxe templates/*.grub
var builtinTemplates embed.FS

// scriptNames are the templates a Server renders, one per scripted Plan
// action and per kind of config (iPXE script, grub.cfg); an operator may
// override any of them with a file of the same name in the templates
// directory.
var scriptNames = []string{boot.Installer.String(), boot.LocalDisk.String(), boot.Hold.String()}

// Template file extensions, by the kind of client that reads them.
const (
	extIPXE = ".ipxe"
	extGRUB = ".grub"
)

// templateFuncs are what templates may call besides text/template's own.
var templateFuncs = template.FuncMap{"grubQuote": grubQuote}

// scriptData is what a template sees.
type scriptData struct {
	MAC, State, Mode, Cause string
	URL                     string // the machine-facing base URL
	ScriptURL               string // this script's own URL
	Kernel, Initrd          string // the installer's kernel and initrd: URLs for iPXE, TFTP paths for GRUB
	InitrdName              string // the name the kernel finds the initrd by
	Cmdline                 string // installer kernel command line, initrd=NAME not included; each word quoted for GRUB
}

// loadTemplates reads the built-in templates and then any overrides in dir.
// An override that does not parse is an error at start, not at boot time.
// Templates are keyed by file name, e.g. "installer.ipxe".
func loadTemplates(dir string) (map[string]*template.Template, error) {
	out := make(map[string]*template.Template, 2*len(scriptNames))
	for _, base := range scriptNames {
		for _, ext := range []string{extIPXE, extGRUB} {
			t, err := loadTemplate(dir, base+ext)
			if err != nil {
				return nil, err
			}
			out[base+ext] = t
		}
	}
	return out, nil
}

func loadTemplate(dir, name string) (*template.Template, error) {
	src, err := fs.ReadFile(builtinTemplates, "templates/"+name)
	if err != nil {
		return nil, err
	}
	origin := "built-in " + name
	if dir != "" {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err == nil {
			src, origin = b, p
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("template %s: %w", p, err)
		}
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(templateFuncs).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", origin, err)
	}
	return t, nil
}

// script answers GET /boot.ipxe?mac=… with the iPXE script of the boot
// decision's Plan for the host. It only ever points an iPXE client at
// HTTP resources, never back at a TFTP loader, so a client cannot loop
// through the chainload. It writes nothing: an unknown MAC is enlisted
// when its installer reports that it booted.
func (s *Server) script(w http.ResponseWriter, r *http.Request) error {
	mac, err := inventory.NormalizeMAC(r.URL.Query().Get(machineapi.ParamMAC))
	if err != nil {
		return err
	}
	h, err := s.host(r.Context(), mac)
	if err != nil {
		return err
	}
	b, plan, err := s.renderPlan(boot.Client{MAC: mac, Kind: boot.KindScript}, h, extIPXE)
	if err != nil {
		return err
	}
	s.Logger.Info("boot script", "mac", mac, "state", stateOf(h), "script", plan.Action.String(), "mode", plan.Mode, "why", plan.Why)
	s.Trace.Record(mac, boottrace.StepScript, "", "http")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(b)
	return err
}

// renderPlan renders the template of the boot decision's Plan for host h
// (nil: unknown), in the kind of config ext names.
func (s *Server) renderPlan(c boot.Client, h *inventory.Host, ext string) ([]byte, boot.Plan, error) {
	plan := boot.Decide(c, h, s.boot)
	d := scriptData{MAC: c.MAC, State: stateOf(h), Mode: plan.Mode, URL: s.boot.URL, ScriptURL: plan.ScriptURL,
		Kernel: plan.Kernel, Initrd: plan.Initrd, InitrdName: plan.InitrdName}
	if h != nil && h.Failure != nil {
		d.Cause = h.Failure.Cause
	}
	if plan.Action == boot.Installer {
		d.Cmdline = strings.Join(plan.Args, " ")
		if ext == extGRUB {
			// GRUB's script language would read $, ; and quotes in an
			// operator's --installer-args; each word is passed as it is.
			words := make([]string, len(plan.Args))
			for i, a := range plan.Args {
				words[i] = grubQuote(a)
			}
			d.Cmdline = strings.Join(words, " ")
		}
	}
	b, err := render((*s.templates.Load())[plan.Action.String()+ext], d)
	return b, plan, err
}

// stateOf is h's state for scripts and logs; "unknown" for a MAC the
// inventory does not know.
func stateOf(h *inventory.Host) string {
	if h == nil {
		return "unknown"
	}
	return string(h.State)
}

// host reads mac's host record; nil for a MAC the inventory does not know.
func (s *Server) host(ctx context.Context, mac string) (*inventory.Host, error) {
	h, err := s.store.Host(ctx, mac)
	if errors.Is(err, inventory.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &h, nil
}

func render(t *template.Template, d scriptData) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("render %s script: %w", t.Name(), err)
	}
	return b.Bytes(), nil
}
