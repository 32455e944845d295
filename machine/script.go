package machine

import (
	"bytes"
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
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

//go:embed templates/*.ipxe
var builtinTemplates embed.FS

// scriptNames are the templates a Server renders, one per scripted Plan
// action; an operator may override any of them with a file of the same
// name in the templates directory.
var scriptNames = []string{boot.Installer.String(), boot.LocalDisk.String(), boot.Hold.String()}

// scriptData is what a template sees.
type scriptData struct {
	MAC, State, Mode, Cause string
	URL                     string // the machine-facing base URL
	ScriptURL               string // this script's own URL
	Kernel, Initrd          string // the installer's kernel and initrd URLs
	InitrdName              string // the name the kernel finds the initrd by
	Cmdline                 string // installer kernel command line, initrd=NAME not included
}

// loadTemplates reads the built-in templates and then any overrides in dir.
// An override that does not parse is an error at start, not at boot time.
func loadTemplates(dir string) (map[string]*template.Template, error) {
	out := make(map[string]*template.Template, len(scriptNames))
	for _, name := range scriptNames {
		src, err := fs.ReadFile(builtinTemplates, "templates/"+name+".ipxe")
		if err != nil {
			return nil, err
		}
		origin := "built-in " + name + ".ipxe"
		if dir != "" {
			p := filepath.Join(dir, name+".ipxe")
			b, err := os.ReadFile(p)
			if err == nil {
				src, origin = b, p
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("template %s: %w", p, err)
			}
		}
		t, err := template.New(name).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", origin, err)
		}
		out[name] = t
	}
	return out, nil
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
	var h *inventory.Host
	if found, err := s.store.Host(r.Context(), mac); err == nil {
		h = &found
	} else if !errors.Is(err, inventory.ErrNotFound) {
		return err
	}
	plan := boot.Decide(boot.Client{MAC: mac, Kind: boot.KindScript}, h, s.boot)
	d := scriptData{MAC: mac, State: "unknown", Mode: plan.Mode, URL: s.boot.URL, ScriptURL: plan.ScriptURL,
		Kernel: plan.Kernel, Initrd: plan.Initrd, InitrdName: plan.InitrdName}
	if h != nil {
		d.State = string(h.State)
		if h.Failure != nil {
			d.Cause = h.Failure.Cause
		}
	}
	if plan.Action == boot.Installer {
		d.Cmdline = strings.Join(plan.Args, " ")
	}
	b, err := render((*s.templates.Load())[plan.Action.String()], d)
	if err != nil {
		return err
	}
	s.Logger.Info("boot script", "mac", mac, "state", d.State, "script", plan.Action.String(), "mode", plan.Mode, "why", plan.Why)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(b)
	return err
}

func render(t *template.Template, d scriptData) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("render %s script: %w", t.Name(), err)
	}
	return b.Bytes(), nil
}
