package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/rackboot/rackboot/inventory"
)

// APIActions runs actions through the REST API's own handler, in process:
// POST /api/v1/hosts/{mac}/actions/{action} with the operator token. A
// button press and an API call therefore share one code path, validation
// and message, including actions the API gains later (deploy, power).
type APIActions struct {
	API   http.Handler // the web.Server's router
	Token string       // the operator token it requires
}

// Do implements Actions.
func (a APIActions) Do(ctx context.Context, mac, action string, body map[string]any) (inventory.Host, error) {
	req, err := a.request(ctx, mac, action, body)
	if err != nil {
		return inventory.Host{}, err
	}
	rec := &recorder{header: http.Header{}, code: http.StatusOK}
	a.API.ServeHTTP(rec, req)
	if rec.code != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(rec.body.Bytes(), &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("%s: API answered %d", action, rec.code)
		}
		return inventory.Host{}, ActionError(rec.code, e.Error)
	}
	var h inventory.Host
	if err := json.Unmarshal(rec.body.Bytes(), &h); err != nil {
		return inventory.Host{}, fmt.Errorf("%s: decode API answer: %w", action, err)
	}
	return h, nil
}

func (a APIActions) request(ctx context.Context, mac, action string, body map[string]any) (*http.Request, error) {
	var buf bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			return nil, fmt.Errorf("%s: encode body: %w", action, err)
		}
	}
	path := "/api/v1/hosts/" + url.PathEscape(mac) + "/actions/" + url.PathEscape(action)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, path, &buf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", action, err)
	}
	req.RemoteAddr = "dashboard"
	req.Header.Set("Authorization", "Bearer "+a.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "rackboot-dashboard")
	return req, nil
}

// recorder is the smallest http.ResponseWriter that keeps an answer.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}
