package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
)

// ImageStore is the image store behind /api/v1/images; *images.Store is
// the one rackboot uses.
type ImageStore interface {
	Import(ctx context.Context, r io.Reader, opts images.ImportOptions) (images.Image, error)
	Image(name string) (images.Image, error)
	Images() []images.Image
	Open(name string) (*os.File, images.Image, error)
	OpenBlob(digest string) (*os.File, error)
	List(ctx context.Context) ([]string, error)
	Remove(ctx context.Context, name string) error
}

func (s *Server) imageRoutes(r chi.Router) {
	r.Get("/images", s.handle(s.listImages))
	r.Post("/images", s.handle(s.importImage))
	r.Get("/images/{name}", s.handle(s.getImage))
	r.Delete("/images/{name}", s.handle(s.deleteImage))
	r.Get("/images/{name}/content", s.handle(s.imageContent))
	r.Get("/images/{name}/kernel", s.handle(s.imageBootFile))
	r.Get("/images/{name}/initrd", s.handle(s.imageBootFile))
}

// imageStore returns the store, or the error every image route answers
// on an appliance configured without one.
func (s *Server) imageStore() (ImageStore, error) {
	if s.Images == nil {
		return nil, httperr.Errorf(http.StatusNotImplemented, "this appliance has no image store")
	}
	return s.Images, nil
}

func (s *Server) listImages(w http.ResponseWriter, _ *http.Request) error {
	st, err := s.imageStore()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"images": st.Images()})
	return nil
}

func (s *Server) getImage(w http.ResponseWriter, r *http.Request) error {
	st, err := s.imageStore()
	if err != nil {
		return err
	}
	img, err := st.Image(chi.URLParam(r, "name"))
	if err != nil {
		return imageError(err)
	}
	writeJSON(w, http.StatusOK, img)
	return nil
}

// importImage streams the request body into the store: the body is the
// image itself (application/octet-stream), of any size; the query names it
// (name, source, replace, iso, kernel-path, initrd-path) and may give the
// sha256 the body must have (sha256), which a mismatch refuses with
// nothing stored. A qcow2 body is converted to raw content.
func (s *Server) importImage(w http.ResponseWriter, r *http.Request) error {
	st, err := s.imageStore()
	if err != nil {
		return err
	}
	opts, err := importOptions(r)
	if err != nil {
		return err
	}
	body := &uploadBody{r: r.Body}
	img, err := st.Import(r.Context(), body, opts)
	if err != nil {
		if body.err != nil {
			return httperr.Errorf(http.StatusBadRequest, "upload ended after %d bytes: %v; nothing was stored", body.n, body.err)
		}
		return imageError(err)
	}
	w.Header().Set("Location", "/api/v1/images/"+img.Name)
	writeJSON(w, http.StatusCreated, img)
	return nil
}

func importOptions(r *http.Request) (images.ImportOptions, error) {
	q := r.URL.Query()
	opts := images.ImportOptions{Name: q.Get("name"), Source: q.Get("source"),
		KernelPath: q.Get("kernel-path"), InitrdPath: q.Get("initrd-path"), SHA256: strings.ToLower(q.Get("sha256"))}
	if opts.Name == "" {
		return opts, httperr.Errorf(http.StatusBadRequest, "query parameter \"name\" is required: POST /api/v1/images?name=NAME with the image as the body")
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" || ct == "multipart/form-data" {
		return opts, httperr.Errorf(http.StatusUnsupportedMediaType, "Content-Type %s: send the image itself as the body, with Content-Type application/octet-stream", ct)
	}
	for key, dst := range map[string]*bool{"replace": &opts.Replace, "iso": &opts.ISO} {
		if v := q.Get(key); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return opts, httperr.Errorf(http.StatusBadRequest, "query parameter %q: %q is not true or false", key, v)
			}
			*dst = b
		}
	}
	return opts, nil
}

// uploadBody remembers whether reading the request failed (the client went
// away), which is the client's doing, not the image's.
type uploadBody struct {
	r   io.Reader
	n   int64
	err error
}

func (b *uploadBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

func (s *Server) deleteImage(w http.ResponseWriter, r *http.Request) error {
	st, err := s.imageStore()
	if err != nil {
		return err
	}
	if err := s.removeImage(r.Context(), st, chi.URLParam(r, "name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeImage removes an image unless a host is being deployed with it:
// the API's DELETE and the dashboard's button both come here.
func (s *Server) removeImage(ctx context.Context, st ImageStore, name string) error {
	if err := s.refuseIfDeploying(ctx, name); err != nil {
		return err
	}
	if err := st.Remove(ctx, name); err != nil {
		return imageError(err)
	}
	return nil
}

// dashboardImages is the image store as the dashboard uses it: its Remove
// keeps the API's rule.
type dashboardImages struct {
	ImageStore
	s *Server
}

func (d dashboardImages) Remove(ctx context.Context, name string) error {
	return d.s.removeImage(ctx, d.ImageStore, name)
}

// refuseIfDeploying keeps an image that a host is being deployed with: a
// retry of that deploy would find it gone.
func (s *Server) refuseIfDeploying(ctx context.Context, name string) error {
	q := inventory.Query{State: inventory.StateDeploying, Limit: inventory.MaxLimit}
	for {
		page, err := s.Store.Hosts(ctx, q)
		if err != nil {
			return err
		}
		for _, h := range page.Hosts {
			if h.Image == name {
				return httperr.Errorf(http.StatusConflict, "image %q is being deployed to %s; remove it when that deploy has ended", name, h.MAC)
			}
		}
		if page.Next == "" {
			return nil
		}
		q.After = page.Next
	}
}

// imageContent serves the stored blob (compressed as imported) to an
// operator's tools, with Range requests. The headers say how to decode and
// what to verify. (Installers fetch from httpboot's /machine/v1/image.)
func (s *Server) imageContent(w http.ResponseWriter, r *http.Request) error {
	st, err := s.imageStore()
	if err != nil {
		return err
	}
	f, img, err := st.Open(chi.URLParam(r, "name"))
	if err != nil {
		return imageError(err)
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+img.StoredSHA256+`"`)
	h.Set("X-Image-Compression", string(img.Compression))
	h.Set("X-Image-SHA256", img.SHA256)
	h.Set("X-Image-Size", strconv.FormatInt(img.Size, 10))
	http.ServeContent(w, r, "", img.Created, f)
	return nil
}

// imageBootFile serves the kernel or initrd extracted from an ISO image.
func (s *Server) imageBootFile(w http.ResponseWriter, r *http.Request) error {
	st, err := s.imageStore()
	if err != nil {
		return err
	}
	img, err := st.Image(chi.URLParam(r, "name"))
	if err != nil {
		return imageError(err)
	}
	which := path.Base(r.URL.Path)
	bf := img.Kernel
	if which == "initrd" {
		bf = img.Initrd
	}
	if bf == nil {
		return httperr.Errorf(http.StatusNotFound, "image %q has no %s (only ISO imports do)", img.Name, which)
	}
	f, err := st.OpenBlob(bf.SHA256)
	if err != nil {
		return imageError(err)
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"`+bf.SHA256+`"`)
	http.ServeContent(w, r, "", img.Created, f)
	return nil
}

// imageError says what a full disk means for an import; the store's other
// errors carry their status through httperr.
func imageError(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return httperr.Wrap(http.StatusInsufficientStorage, fmt.Errorf("the appliance's disk is full; nothing was stored: %w", err))
	}
	return err
}
