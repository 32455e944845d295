package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/rackboot/rackboot/tftp"
)

// serve runs rackboot's TFTP server on cfg.listen until ctx ends, then prints
// its counters, which a benchmark can check against the client's view.
func serve(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	conn, err := tftp.Listen(ctx, "", cfg.listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on %s\n", conn.LocalAddr())
	level := slog.LevelWarn // a boot storm of Info lines would be measured too
	if cfg.verbose {
		level = slog.LevelInfo
	}
	s := &tftp.Server{
		Roots:      []string{cfg.serveDir},
		BlockSize:  cfg.blockSize,
		Anticipate: cfg.anticipate,
		Logger:     slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	}
	err = s.Serve(ctx, conn)
	st := s.Stats()
	fmt.Fprintf(stderr, "served ok=%d failed=%d refused=%d probes=%d bytes=%d\n",
		st.TransfersOK, st.TransfersFailed, st.TransfersRefused, st.SizeProbes, st.BytesSent)
	return err
}
