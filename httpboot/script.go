package httpboot

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"text/template"
)

//go:embed templates/*.ipxe
var builtinTemplates embed.FS

// scriptNames are the templates a Server renders; an operator may override
// any of them with a file of the same name in the templates directory.
var scriptNames = []string{"installer", "localboot", "hold"}

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

func render(t *template.Template, d scriptData) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("render %s script: %w", t.Name(), err)
	}
	return b.Bytes(), nil
}
