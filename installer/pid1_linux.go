package installer

import (
	"context"
	"log"
	"os"
	"time"
)

// restartAfter is how long PID 1 waits before running the installer again
// after it stopped on an error, so the error stays on the console a while.
const restartAfter = 10 * time.Second

// Main is the ramdisk's init: it never returns, because PID 1 exiting
// panics the kernel. Everything it does is logged to the console (the
// kernel opened /dev/console as its stdout).
func Main() {
	console := NewConsoleLogger(os.Stdout)
	// u-root's DHCP client logs through the standard logger; give its
	// lines the prefix too, so they can be told from the kernel's.
	log.SetFlags(0)
	log.SetPrefix(ConsolePrefix + "dhcp: ")
	log.SetOutput(os.Stdout)
	if err := MountPseudoFilesystems(); err != nil {
		console.Error("mounts incomplete", "err", err)
	}
	ctx := context.Background()
	for {
		err := Safely(func() error {
			return Run(ctx, Options{Machine: true, Log: console})
		})
		console.Error("installer stopped, restarting", "err", err, "restart_in", restartAfter)
		time.Sleep(restartAfter)
	}
}
