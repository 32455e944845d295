package virtual

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// handlerFunc is a route that returns its failure instead of writing it,
// so one place (wrap) turns errors into Redfish error bodies and logs them.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// httpError carries the status code for an error a client caused.
type httpError struct {
	status int
	code   string // Redfish Base message id
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &httpError{http.StatusBadRequest, "Base.1.0.PropertyValueNotInList", fmt.Sprintf(format, a...)}
}

func unauthorized() error {
	return &httpError{http.StatusUnauthorized, "Base.1.0.NoValidSession", "no valid session or credentials"}
}

func notFound(http.ResponseWriter, *http.Request) error {
	return &httpError{http.StatusNotFound, "Base.1.0.ResourceMissingAtURI", "no such resource"}
}

func (s *Server) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("virtual bmc panic", "path", r.URL.Path, "panic", p)
				s.writeError(w, r, fmt.Errorf("internal error: %v", p))
			}
		}()
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	he := &httpError{http.StatusInternalServerError, "Base.1.0.InternalError", err.Error()}
	errors.As(err, &he)
	if he.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="rackboot virtual bmc"`)
	}
	level := s.log.Warn
	if he.status < 500 {
		level = s.log.Info
	}
	level("virtual bmc request failed", "method", r.Method, "path", r.URL.Path, "status", he.status, "err", err)
	writeJSON(w, he.status, map[string]any{"error": map[string]any{
		"code": he.code, "message": he.msg,
		"@Message.ExtendedInfo": []map[string]string{{"MessageId": he.code, "Message": he.msg}},
	}})
}

func writeJSON(w http.ResponseWriter, status int, body any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(body)
}

// readJSON decodes a small request body; unknown fields are allowed because
// clients (gofish) send whole objects of which we use a few fields.
func readJSON(r *http.Request, v any) error {
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10)).Decode(v); err != nil {
		return badRequest("malformed JSON body: %v", err)
	}
	return nil
}

func link(path string) map[string]string { return map[string]string{"@odata.id": path} }

func collection(path, typ, name string, members ...string) map[string]any {
	links := make([]map[string]string, 0, len(members))
	for _, m := range members {
		links = append(links, link(m))
	}
	return map[string]any{
		"@odata.id": path, "@odata.type": typ, "Name": name,
		"Members": links, "Members@odata.count": len(links),
	}
}
