package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"

	"github.com/rackboot/rackboot/atomicfile"
)

// TokenFile is the name of the operator token file inside the data dir.
const TokenFile = "admin.token"

// LoadOrCreateToken returns the operator token stored at path, creating a
// random one (mode 0600) on first start.
func LoadOrCreateToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		tok := strings.TrimSpace(string(b))
		if len(tok) < 16 {
			return "", fmt.Errorf("operator token %s: shorter than 16 characters", path)
		}
		return tok, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("operator token: %w", err)
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	tok := hex.EncodeToString(raw)
	if err := atomicfile.Write(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("operator token: %w", err)
	}
	return tok, nil
}

// requireToken refuses a request without the operator token.
func (s *Server) requireToken(next http.Handler) http.Handler {
	want := []byte(s.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || len(want) == 0 || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rackboot"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong operator token (Authorization: Bearer …)"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
