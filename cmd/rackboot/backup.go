package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/rackboot/rackboot/atomicfile"
	"github.com/rackboot/rackboot/inventory"
	"github.com/spf13/cobra"
)

// newBackupCmd: `rackboot backup FILE`, a client of GET /api/v1/backup.
func newBackupCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Back up a running rackboot's inventory and sealing key to FILE (written 0600: it is a secret)",
		Long: `Back up the inventory of a running rackboot, through its API: one consistent
read of the database, taken while it keeps serving, and the sealing key of its
BMC passwords and tokens, so that the backup restores on a new machine.

FILE holds that key: it is written with mode 0600 and must be kept like a
password. The image store (DATA_DIR/images) is not in it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(cmd.Context(), "GET", c.server+"/api/v1/backup", nil)
			if err != nil {
				return err
			}
			// The client's trust, without its timeout: a backup takes as
			// long as the database is large.
			hc := *c.http
			hc.Timeout = 0
			var info inventory.BackupInfo
			err = atomicfile.WriteWith(args[0], 0o600, func(w io.Writer) error {
				return c.stream(&hc, req, func(body io.Reader) error {
					// Checked as it is written: a backup cut short in
					// transit never replaces FILE.
					bw := bufio.NewWriter(w)
					var err error
					info, _, err = inventory.ReadBackup(io.TeeReader(body, bw), io.Discard)
					if err != nil {
						return err
					}
					if _, err := io.Copy(bw, body); err != nil { // the tar trailer
						return err
					}
					return bw.Flush()
				})
			})
			if err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backed up %d bytes of inventory (schema %d, taken %s) to %s; it holds the sealing key: keep it secret\n",
				info.DBBytes, info.Schema, info.Created.Format("2006-01-02 15:04:05Z"), args[0])
			return nil
		},
	}
	cf.register(cmd)
	return cmd
}

// newRestoreCmd: `rackboot restore FILE`, into a stopped data dir.
func newRestoreCmd() *cobra.Command {
	var dataDir string
	var force bool
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Restore a backup into a stopped rackboot's data dir",
		Long: `Restore a backup made by ` + "`rackboot backup`" + ` into the data dir: its database and
its sealing key. The data dir's rackboot must be stopped; a data dir that holds
an inventory is replaced only with --force. The backup is checked whole
(checksum, bbolt's consistency check, schema, the key opening the sealed
secrets) before anything is replaced. A newer rackboot migrates a backup of an
older one when it starts.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			info, err := inventory.Restore(bufio.NewReader(f), dataDir, inventory.RestoreOptions{Force: force})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %d bytes of inventory (schema %d, taken %s) into %s\n",
				info.DBBytes, info.Schema, info.Created.Format("2006-01-02 15:04:05Z"), dataDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", firstOf(os.Getenv("RACKBOOT_DATA_DIR"), "/var/lib/rackboot"), "data dir to restore into (default $RACKBOOT_DATA_DIR or /var/lib/rackboot)")
	cmd.Flags().BoolVar(&force, "force", false, "replace the inventory the data dir holds")
	return cmd
}
