package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/rackboot/rackboot/images"
	"github.com/spf13/cobra"
)

// withImageStoreCmds adds the image store's commands (import, list, show,
// rm) to the `image` parent, which image_initramfs.go declares with its
// own child. Each gets the client flags itself rather than the parent, so
// `image initramfs -o FILE` keeps its meaning.
func withImageStoreCmds(parent *cobra.Command) *cobra.Command {
	var cf clientFlags
	for _, c := range []*cobra.Command{newImageImportCmd(&cf), newImageListCmd(&cf), newImageShowCmd(&cf), newImageRmCmd(&cf)} {
		cf.register(c)
		parent.AddCommand(c)
	}
	return parent
}

func newImageImportCmd(cf *clientFlags) *cobra.Command {
	var opts images.ImportOptions
	cmd := &cobra.Command{
		Use:   "import FILE --name NAME",
		Short: "Upload a raw disk image (plain, gzip, xz or zstd) or an installer ISO to the image store",
		Long: "Streams FILE to the appliance, which sniffs its format from its content, stores it as\n" +
			"given and records the sha256 of the uncompressed image. qcow2 is refused: convert it\n" +
			"with `qemu-img convert -O raw`. An ISO keeps its kernel and initrd for network boot.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			img, err := c.importImage(cmd.Context(), args[0], opts, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if cf.output == "json" {
				return printJSON(cmd.OutOrStdout(), img)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %s: %s %s, %s, sha256 %s\n", img.Name, img.Format,
				img.Compression, byteSize(img.Size), img.SHA256)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Name, "name", "", "name of the image (required)")
	f.BoolVar(&opts.Replace, "replace", false, "replace the image of that name if there is one")
	f.BoolVar(&opts.ISO, "iso", false, "refuse FILE unless it is an ISO 9660 image (ISOs are also recognised without it)")
	f.StringVar(&opts.KernelPath, "kernel-path", "", "path of the kernel inside the ISO, when not at a usual place")
	f.StringVar(&opts.InitrdPath, "initrd-path", "", "path of the initrd inside the ISO, when not at a usual place")
	cmd.MarkFlagRequired("name")
	return cmd
}

// importImage streams the file as the request body, with a progress
// meter on stderr, and returns the record the appliance made of it.
func (c *apiClient) importImage(ctx context.Context, path string, opts images.ImportOptions, stderr io.Writer) (images.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return images.Image{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return images.Image{}, err
	}
	q := url.Values{"name": {opts.Name}, "source": {filepath.Base(path)}}
	for k, v := range map[string]string{"kernel-path": opts.KernelPath, "initrd-path": opts.InitrdPath} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for k, v := range map[string]bool{"replace": opts.Replace, "iso": opts.ISO} {
		if v {
			q.Set(k, "true")
		}
	}
	meter := newProgress(stderr, filepath.Base(path), fi.Size())
	var img images.Image
	err = c.upload(ctx, "/api/v1/images?"+q.Encode(), meter.reader(f), fi.Size(), &img)
	meter.finish(err == nil)
	return img, err
}

// upload POSTs body as application/octet-stream, with no overall timeout
// (an image takes as long as it takes), and decodes the JSON answer.
func (c *apiClient) upload(ctx context.Context, path string, body io.Reader, size int64, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.server+path, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	hc := *c.http
	hc.Timeout = 0
	return c.send(&hc, req, out)
}

func newImageListCmd(cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the images in the store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var page struct{ Images []images.Image }
			if err := c.do(cmd.Context(), "GET", "/api/v1/images", nil, &page); err != nil {
				return err
			}
			if cf.output == "json" {
				return printJSON(cmd.OutOrStdout(), page.Images)
			}
			return printImageTable(cmd.OutOrStdout(), page.Images)
		},
	}
}

func printImageTable(w io.Writer, imgs []images.Image) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFORMAT\tSIZE\tCOMPRESSION\tSTORED\tSHA256\tCREATED")
	for _, img := range imgs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", img.Name, img.Format, byteSize(img.Size), img.Compression,
			byteSize(img.StoredSize), short(img.SHA256), img.Created.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func short(digest string) string { return digest[:min(len(digest), 12)] }

func newImageShowCmd(cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show one image: its checksums, sizes and, for an ISO, its kernel and initrd",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var img images.Image
			if err := c.do(cmd.Context(), "GET", "/api/v1/images/"+url.PathEscape(args[0]), nil, &img); err != nil {
				return err
			}
			if cf.output == "json" {
				return printJSON(cmd.OutOrStdout(), img)
			}
			return printImage(cmd.OutOrStdout(), img)
		},
	}
}

func printImage(w io.Writer, img images.Image) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, dash(v)) }
	row("Name", img.Name)
	row("Format", string(img.Format))
	row("Size", fmt.Sprintf("%s (%d bytes)", byteSize(img.Size), img.Size))
	row("SHA256", img.SHA256)
	row("Stored", fmt.Sprintf("%s, %s (%d bytes)", img.Compression, byteSize(img.StoredSize), img.StoredSize))
	row("Stored SHA256", img.StoredSHA256)
	row("Created", img.Created.Format(time.RFC3339))
	row("Source", img.Source)
	for _, bf := range []struct {
		k string
		f *images.BootFile
	}{{"Kernel", img.Kernel}, {"Initrd", img.Initrd}} {
		if bf.f != nil {
			row(bf.k, fmt.Sprintf("%s, %s, sha256 %s", bf.f.Path, byteSize(bf.f.Size), bf.f.SHA256))
		}
	}
	return tw.Flush()
}

func newImageRmCmd(cf *clientFlags) *cobra.Command {
	return newRmCmd(cf, "rm NAME...", "Remove images; their content goes when no other image shares it", "images")
}
