package machine

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/machineapi"
)

// TestPeerBlob: a blob goes to a peer that shows the token for that blob,
// and to nobody else; a token for another blob does not open it.
func TestPeerBlob(t *testing.T) {
	key := []byte("the key both appliances derive...")
	var imgs *images.Store
	b := newBootTest(t, func(s *Server) {
		imgs = s.Images.(*images.Store)
		s.PeerBlobs, s.PeerKey = imgs, key
	})
	disk := make([]byte, 1<<20)
	disk[510], disk[511] = 0x55, 0xaa
	img, err := imgs.Import(context.Background(), bytes.NewReader(disk), images.ImportOptions{Name: "os"})
	if err != nil {
		t.Fatal(err)
	}
	d := img.StoredSHA256
	other := strings.Repeat("0", 64)
	for _, tc := range []struct {
		token string
		want  int
	}{
		{machineapi.PeerBlobToken(key, d), http.StatusOK},
		{"", http.StatusUnauthorized},
		{machineapi.PeerBlobToken(key, other), http.StatusUnauthorized},
		{machineapi.PeerBlobToken([]byte("another appliance's key........"), d), http.StatusUnauthorized},
	} {
		code, body := b.get(machineapi.PathPeerBlob+d, "Authorization", "Bearer "+tc.token)
		if code != tc.want {
			t.Errorf("token %q: %d, want %d", tc.token, code, tc.want)
		}
		if code == http.StatusOK && len(body) != int(img.StoredSize) {
			t.Errorf("served %d bytes, want %d", len(body), img.StoredSize)
		}
	}
	if code, _ := b.get(machineapi.PathPeerBlob+other, "Authorization", "Bearer "+machineapi.PeerBlobToken(key, other)); code != http.StatusNotFound {
		t.Errorf("a blob not here: %d, want 404", code)
	}
}
