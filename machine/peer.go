package machine

import (
	"crypto/hmac"
	"encoding/hex"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/machineapi"
)

// PeerBlobSource opens image blobs by sha256; *images.Store has it.
type PeerBlobSource interface {
	OpenBlob(digest string) (*os.File, error)
}

// peerBlob serves one blob to a peer appliance that shows the token for
// it. The blob is content-addressed: the peer checks what it got.
func (s *Server) peerBlob(w http.ResponseWriter, r *http.Request) error {
	digest := chi.URLParam(r, "digest")
	if _, err := hex.DecodeString(digest); err != nil || len(digest) != 64 {
		return httperr.Errorf(http.StatusBadRequest, "%q is not a sha256 in hex", digest)
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !hmac.Equal([]byte(token), []byte(machineapi.PeerBlobToken(s.PeerKey, digest))) {
		return httperr.Errorf(http.StatusUnauthorized, "peer blob %s: no valid peer token", digest)
	}
	f, err := s.PeerBlobs.OpenBlob(digest)
	if err != nil {
		return httperr.Errorf(http.StatusNotFound, "blob %s: not here", digest)
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(keepReading(w), r, "", time.Time{}, f)
	return nil
}
