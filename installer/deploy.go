package installer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/rackboot/rackboot/images/compression"
	"github.com/rackboot/rackboot/images/partition"
	"github.com/rackboot/rackboot/machineapi"
	"golang.org/x/sys/unix"
)

// StepError names the deploy step that failed; its text is the cause the
// appliance records.
type StepError struct {
	Step string // image, disk, download, write, verify, seed
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

func stepErr(step string, err error) error {
	if err == nil {
		return nil
	}
	return &StepError{Step: step, Err: err}
}

// DeployResult is what a successful deploy reports.
type DeployResult struct {
	Disk    string
	Written int64 // bytes of image content, zero runs included
	Zeroed  int64 // of which skipped as zeros
	Elapsed time.Duration
}

// deploy runs one deploy action to its end: on success the host is
// reported deployed and rebooted; on failure it is reported failed with
// the cause, and the caller goes back to polling.
func deploy(ctx context.Context, o Options, cl *Client, d *machineapi.Deploy) {
	if d == nil {
		o.Log.Error("deploy action without a deploy spec")
		report(ctx, o, "failed", func(ctx context.Context) error {
			return cl.Failed(ctx, "deploy: the appliance sent no image")
		})
		return
	}
	o.Log.Info("deploy starting", "url", d.ImageURL, "size", d.Size, "compression", d.Compression, "sha256", d.SHA256)
	res, err := runDeploy(ctx, o, cl, d)
	if err != nil {
		o.Log.Error("deploy failed", "err", err)
		report(ctx, o, "failed", func(ctx context.Context) error { return cl.Failed(ctx, err.Error()) })
		return
	}
	o.Log.Info("deploy done", "disk", res.Disk, "written", res.Written, "zero_skipped", res.Zeroed,
		"seconds", res.Elapsed.Seconds(), "mb_per_s", mbps(res.Written, res.Elapsed))
	if !report(ctx, o, "deployed", func(ctx context.Context) error {
		return cl.Deployed(ctx, machineapi.Deployed{Disk: res.Disk, Written: res.Written, Seconds: res.Elapsed.Seconds()})
	}) {
		return
	}
	if o.Reboot == nil {
		o.Log.Info("not rebooting: not the ramdisk's PID 1")
		return
	}
	o.Log.Info("rebooting into the deployed disk")
	if err := o.Reboot(); err != nil {
		o.Log.Error("reboot failed", "err", err)
	}
}

// report posts the outcome of a deploy or wipe, retrying a few times:
// losing it would leave the host deploying, or its wipe pending, for good.
func report(ctx context.Context, o Options, what string, post func(context.Context) error) bool {
	for attempt := 1; attempt <= 5; attempt++ {
		err := post(ctx)
		if err == nil {
			return true
		}
		if errors.Is(err, ErrConflict) || errors.Is(err, ErrRejected) {
			o.Log.Error("report not taken", "report", what, "err", err)
			return false
		}
		o.Log.Error("report failed", "report", what, "err", err, "attempt", attempt)
		if err := o.Sleep(ctx, retrySoon); err != nil {
			return false
		}
	}
	return false
}

// runDeploy picks the disk, checks that the seed will have a place,
// streams the image onto the disk, verifies it and writes the seed. Every
// error is a *StepError.
func runDeploy(ctx context.Context, o Options, cl *Client, d *machineapi.Deploy) (DeployResult, error) {
	start := time.Now()
	if d.Size <= 0 || len(d.SHA256) != 64 {
		return DeployResult{}, stepErr("image", fmt.Errorf("bad spec: size %d, sha256 %q", d.Size, d.SHA256))
	}
	dev, err := pickDisk(o.Root, d.Disk, d.Size)
	if err != nil {
		return DeployResult{}, stepErr("disk", err)
	}
	o.Log.Info("target disk", "path", dev.Path, "size", dev.SizeBytes, "serial", dev.Serial)
	// The seed is claimed first: it is handed out once, and a deploy that
	// cannot have it should fail before the disk is touched.
	seed, err := cl.Seed(ctx)
	if err != nil {
		return DeployResult{}, stepErr("seed", err)
	}
	body, err := cl.Image(ctx, d.ImageURL)
	if err != nil {
		return DeployResult{}, stepErr("download", err)
	}
	defer body.Close()
	dec, err := compression.NewReader(body, compression.Kind(d.Compression))
	if err != nil {
		return DeployResult{}, stepErr("download", err)
	}
	defer dec.Close()
	src, err := checkSeedFirst(dec, d, int64(dev.SizeBytes))
	if err != nil {
		return DeployResult{}, err
	}
	o.Log.Info("seed has a place", "plan", src.plan.String())

	pr := newProgress(ctx, o, cl, d.Size)
	st, err := WriteImageFile(ctx, dev.Path, src, d.Size, WriteOptions{Progress: pr.set})
	pr.stop()
	if err != nil {
		return DeployResult{}, err
	}
	o.Log.Info("image written", "written", st.Written, "zero_skipped", st.Zeroed, "seconds", st.Elapsed.Seconds())
	if err := VerifyFile(dev.Path, d.Size, d.SHA256); err != nil {
		return DeployResult{}, stepErr("verify", err)
	}
	o.Log.Info("image verified", "sha256", d.SHA256)
	plan, err := WriteSeed(dev.Path, d.Size, seed)
	if err != nil {
		return DeployResult{}, stepErr("seed", err)
	}
	o.Log.Info("seed written and read back", "where", plan.String())
	return DeployResult{Disk: dev.Path, Written: st.Written, Zeroed: st.Zeroed, Elapsed: time.Since(start)}, nil
}

// headReader is the image stream with its first bytes read ahead, and
// the seed's place planned from them.
type headReader struct {
	*bufio.Reader
	plan partition.Plan
}

// checkSeedFirst reads the image's partition table from the head of the
// stream and plans the seed on a disk of diskSize bytes before anything is
// written: an image whose seed has no place (an MBR with four primary
// partitions and none labelled CIDATA, a disk too small for the image and
// a seed partition) fails here, with the disk untouched.
func checkSeedFirst(r io.Reader, d *machineapi.Deploy, diskSize int64) (*headReader, error) {
	br := bufio.NewReaderSize(r, partition.HeadSize)
	head, err := br.Peek(int(min(d.Size, partition.HeadSize)))
	if err != nil {
		return nil, stepErr("download", compression.Truncated(err))
	}
	plan, err := CheckSeedRoom(head, d.Size, diskSize, d.SeedPartition)
	if err != nil {
		return nil, stepErr("seed", fmt.Errorf("%w; nothing was written", err))
	}
	return &headReader{Reader: br, plan: plan}, nil
}

// progress posts the bytes written about once a second, from its own
// goroutine so a slow appliance never stalls the disk. set records the
// latest count; stop posts it one last time and waits for that.
type progress struct {
	set  func(int64)
	stop func()
}

func newProgress(ctx context.Context, o Options, cl *Client, total int64) progress {
	var written atomic.Int64
	quit, done := make(chan struct{}), make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		last := int64(-1)
		post := func() {
			cur := written.Load()
			if cur == last {
				return
			}
			last = cur
			rate := int64(0)
			if el := time.Since(start); el > 0 {
				rate = int64(float64(cur) / el.Seconds())
			}
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := cl.Progress(pctx, machineapi.Progress{Written: cur, Total: total, RateBPS: rate}); err != nil {
				o.Log.Error("progress not posted", "err", err)
			}
		}
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				post()
			case <-quit:
				post()
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return progress{
		set:  written.Store,
		stop: func() { close(quit); <-done },
	}
}

func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(int64(float64(n)/d.Seconds()*10/1e6)) / 10
}

// rebootMachine syncs and restarts the machine; only for PID 1.
func rebootMachine() error {
	unix.Sync()
	return unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
}
