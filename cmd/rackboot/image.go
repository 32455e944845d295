package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/images/partition"
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
	u := &urlImport{http: &http.Client{}, sleep: sleepCtx}
	cmd := &cobra.Command{
		Use:   "import FILE|URL --name NAME [--sha256 HEX | --checksums URL]",
		Short: "Upload a disk image (raw, qcow2, gzip, xz or zstd) or an installer ISO to the image store",
		Long: `Streams FILE, or the http(s) URL as it downloads, to the appliance, which sniffs
its format from its content. Raw images are stored as given (compressed or
not); qcow2 (v2 or v3, zlib or zstd clusters) is converted once to a sparse
raw image, and one with a backing file, an external data file or encryption
is refused. The sha256 of the disk content is recorded, and the partition
table, which says where each deploy's cloud-init seed will go. An ISO keeps
its kernel and initrd for network boot.

With --sha256 HEX, or --checksums URL (a SHA256SUMS-style file that names
the URL's file), the appliance stores nothing unless the file as downloaded
has that sha256. A download that breaks is resumed with HTTP ranges.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var img images.Image
			if isURL(args[0]) {
				img, err = c.importURL(cmd.Context(), args[0], opts, u, cmd.ErrOrStderr())
			} else {
				if u.checksums != "" {
					return fmt.Errorf("--checksums needs a URL to import; for a file give --sha256")
				}
				opts.SHA256 = strings.ToLower(u.sha256)
				img, err = c.importImage(cmd.Context(), args[0], opts, cmd.ErrOrStderr())
			}
			if err != nil {
				return err
			}
			if cf.output == "json" {
				return printJSON(cmd.OutOrStdout(), img)
			}
			from := ""
			if img.SourceFormat != "" {
				from = " (converted from " + img.SourceFormat + ")"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %s: %s %s%s, %s, sha256 %s\n", img.Name, img.Format,
				img.Compression, from, byteSize(img.Size), img.SHA256)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Name, "name", "", "name of the image (required)")
	f.BoolVar(&opts.Replace, "replace", false, "replace the image of that name if there is one")
	f.BoolVar(&opts.ISO, "iso", false, "refuse FILE unless it is an ISO 9660 image (ISOs are also recognised without it)")
	f.StringVar(&opts.KernelPath, "kernel-path", "", "path of the kernel inside the ISO, when not at a usual place")
	f.StringVar(&opts.InitrdPath, "initrd-path", "", "path of the initrd inside the ISO, when not at a usual place")
	f.StringVar(&u.sha256, "sha256", "", "the sha256 the file (as downloaded or uploaded) must have; nothing is stored otherwise")
	f.StringVar(&u.checksums, "checksums", "", "URL of a SHA256SUMS file naming the URL's file (for URL imports)")
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
	for k, v := range map[string]string{"kernel-path": opts.KernelPath, "initrd-path": opts.InitrdPath, "sha256": opts.SHA256} {
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
	if img.SourceFormat != "" {
		row("Imported as", fmt.Sprintf("%s, %s (%d bytes), converted to raw at import", img.SourceFormat, byteSize(img.SourceSize), img.SourceSize))
		row("Imported SHA256", img.SourceSHA256)
	}
	if l := img.Layout; l != nil {
		row("Partitions", layoutString(*l))
		row("Seed", seedString(*l))
	}
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

// layoutString is "gpt: 1 root 1.9 GiB, 14 3.0 MiB, 15 vfat UEFI 124.0 MiB".
func layoutString(l partition.Layout) string {
	var parts []string
	for _, p := range l.Partitions {
		s := fmt.Sprint(p.Number)
		for _, w := range []string{p.Name, p.FS, p.Label} {
			if w != "" {
				s += " " + w
			}
		}
		parts = append(parts, s+" "+byteSize(p.Size))
	}
	return fmt.Sprintf("%s: %s", l.Table, strings.Join(parts, ", "))
}

// seedString says where a deploy's cloud-init seed goes.
func seedString(l partition.Layout) string {
	if n := l.SeedPartition(); n != 0 {
		return fmt.Sprintf("reuses partition %d (its filesystem is labelled CIDATA or config-2)", n)
	}
	if err := l.Seedable(); err != nil {
		return "cannot be seeded: " + err.Error()
	}
	return fmt.Sprintf("a %d MiB CIDATA partition is added at the end of the target disk", partition.SeedSize>>20)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func newImageRmCmd(cf *clientFlags) *cobra.Command {
	return newRmCmd(cf, "rm NAME...", "Remove images; their content goes when no other image shares it", "images")
}
