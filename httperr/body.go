package httperr

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// BodyTimeout bounds the reading of a JSON body.
const BodyTimeout = 30 * time.Second

// DecodeJSON reads one JSON value of at most limit bytes from r's body
// into v, refusing unknown fields, wrong types, trailing data and bodies
// over the limit, with an error (400 or 413) that names what was wrong;
// what names the body in it ("request body", "report").
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, what string, v any) error {
	// A body trickled in a byte at a time must not hold a connection.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(BodyTimeout))
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return decodeError(what, err)
		}
		return Errorf(http.StatusBadRequest, "%s: more than one JSON value", what)
	}
	return nil
}

func decodeError(what string, err error) error {
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
		mbe       *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return Wrap(http.StatusRequestEntityTooLarge, fmt.Errorf("%s larger than %d bytes", what, mbe.Limit))
	case errors.As(err, &typeErr):
		return Errorf(http.StatusBadRequest, "%s: field %q must be %s, not JSON %s", what, typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return Errorf(http.StatusBadRequest, "%s: malformed JSON at byte %d: %v", what, syntaxErr.Offset, err)
	case errors.Is(err, io.EOF):
		return Errorf(http.StatusBadRequest, "%s: empty, want a JSON object", what)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(http.StatusBadRequest, "%s: truncated JSON", what)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return Errorf(http.StatusBadRequest, "%s: %s", what, strings.TrimPrefix(err.Error(), "json: "))
	}
	return Errorf(http.StatusBadRequest, "%s: %v", what, err)
}

// WriteJSON writes v as indented JSON with status code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
