package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

type memImages struct{ names []string }

func (m *memImages) List(context.Context) ([]string, error) { return m.names, nil }

func (m *memImages) Remove(_ context.Context, name string) error {
	i := slices.Index(m.names, name)
	if i < 0 {
		return errors.New("image " + name + " is not in the store")
	}
	m.names = slices.Delete(m.names, i, i+1)
	return nil
}

func TestImagesPage(t *testing.T) {
	dt := newDashTest(t, nil)
	dt.login()
	if resp, _ := dt.do("GET", "/ui/images", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("images page without an image store: %d, want 404", resp.StatusCode)
	}
	if _, body := dt.do("GET", "/ui/", nil); strings.Contains(body, `href="/ui/images"`) {
		t.Error("navigation links to the images page without an image store")
	}

	imgs := &memImages{names: []string{"debian-12", "ubuntu-24.04"}}
	d, err := New(Config{Store: dt.store, Token: testToken, Images: imgs, Now: dt.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	dt.srv.Config.Handler = d
	dt.login()
	csrf := dt.csrf()
	if _, body := dt.do("GET", "/ui/images", nil); !strings.Contains(body, "ubuntu-24.04") {
		t.Errorf("images page:\n%s", body)
	}
	if resp, body := dt.do("POST", "/ui/images/debian-12/remove", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "tick") {
		t.Errorf("remove unconfirmed: %d", resp.StatusCode)
	}
	if len(imgs.names) != 2 {
		t.Fatalf("an unconfirmed remove removed: %v", imgs.names)
	}
	if resp, _ := dt.do("POST", "/ui/images/debian-12/remove", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("remove: %d", resp.StatusCode)
	}
	resp, body := dt.do("POST", "/ui/images/debian-12/remove", url.Values{"csrf": {csrf}, "confirm": {"yes"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "not in the store") {
		t.Errorf("remove twice: %d, want 409 with the store's message", resp.StatusCode)
	}
	if !slices.Equal(imgs.names, []string{"ubuntu-24.04"}) {
		t.Errorf("images left: %v", imgs.names)
	}
}
