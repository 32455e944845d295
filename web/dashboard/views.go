package dashboard

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

// views holds one template set per page, each a clone of the shared layout
// and partials with the page's own "content" added.
type views struct {
	pages    map[string]*template.Template
	partials *template.Template
}

func loadViews() (*views, error) {
	base, err := template.New("").Funcs(funcs()).ParseFS(templateFS, "templates/_*.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/[a-z]*.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard templates: %w", err)
	}
	v := &views{pages: make(map[string]*template.Template), partials: base}
	for _, n := range names {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("dashboard template %s: %w", n, err)
		}
		v.pages[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return v, nil
}

// page renders a whole page into a buffer first, so a template error
// becomes a clean 500 instead of half a page.
func (v *views) page(w http.ResponseWriter, code int, name string, data any) error {
	t, ok := v.pages[name]
	if !ok {
		return fmt.Errorf("render: no page %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	writeHTML(w, code, buf.Bytes())
	return nil
}

// fragment renders one named partial (a table row, a section) to a string,
// for the live stream and for partial page updates.
func (v *views) fragment(name string, data any) (string, error) {
	var buf bytes.Buffer
	if err := v.partials.ExecuteTemplate(&buf, name, data); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return buf.String(), nil
}

func writeHTML(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(b)
}
