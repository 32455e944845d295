// Command benchdeploy runs the installer's image writer (installer's
// Decompress, WriteImageFile and VerifyFile, the code the ramdisk runs)
// against a target device, fed over HTTP from a local server, and prints
// one JSON line of figures. scripts/bench-deploy runs it next to dd.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/rackboot/rackboot/images/compression"
	"github.com/rackboot/rackboot/installer"
)

func main() {
	image := flag.String("image", "", "image file to serve (as stored: raw or compressed)")
	kind := flag.String("compression", "none", "none, gzip, xz or zstd")
	size := flag.Int64("size", 0, "uncompressed size in bytes")
	sum := flag.String("sha256", "", "sha256 of the uncompressed content")
	dev := flag.String("dev", "", "target block device or file")
	assumeBlank := flag.Bool("assume-blank", false, "skip zero runs without zeroing them")
	flag.Parse()
	if *image == "" || *dev == "" || *size == 0 {
		log.Fatal("usage: benchdeploy -image FILE -size N -sha256 HEX -dev DEV [-compression C]")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, *image)
	}))
	ctx := context.Background()
	start := time.Now()
	resp, err := http.Get("http://" + ln.Addr().String() + "/image")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	src, err := compression.NewReader(resp.Body, compression.Kind(*kind))
	if err != nil {
		log.Fatal(err)
	}
	st, err := installer.WriteImageFile(ctx, *dev, src, *size, installer.WriteOptions{AssumeBlank: *assumeBlank})
	if err != nil {
		log.Fatal(err)
	}
	wrote := time.Since(start)
	vstart := time.Now()
	if *sum != "" {
		if err := installer.VerifyFile(*dev, *size, *sum); err != nil {
			log.Fatal(err)
		}
	}
	verify := time.Since(vstart)
	io.Copy(io.Discard, resp.Body)
	out, _ := json.Marshal(map[string]any{
		"compression": *kind, "assume_blank": *assumeBlank,
		"bytes": st.Written, "zero_skipped": st.Zeroed,
		"write_s": wrote.Seconds(), "write_mb_s": float64(st.Written) / wrote.Seconds() / 1e6,
		"verify_s": verify.Seconds(), "total_s": wrote.Seconds() + verify.Seconds(),
	})
	fmt.Println(string(out))
}
