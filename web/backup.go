package web

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
)

// Backuper writes a consistent backup of the inventory, its sealing key
// included (inventory.DB.Backup).
type Backuper interface {
	Backup(w io.Writer) (inventory.BackupInfo, error)
}

// backup streams a backup: one read transaction of the store, while
// everything else carries on. It holds the sealing key, so it is as
// secret as the operator token that fetches it; it is never cached.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) error {
	if s.Backup == nil {
		return httperr.Errorf(http.StatusNotImplemented, "this appliance's store has no backup")
	}
	name := "rackboot-backup-" + time.Now().UTC().Format("20060102T150405Z") + ".tar"
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	info, err := s.Backup.Backup(w)
	if errors.Is(err, inventory.ErrBackupEtcd) {
		// Nothing was written: the status is still ours to choose.
		for _, h := range []string{"Content-Type", "Content-Disposition"} {
			w.Header().Del(h)
		}
		return httperr.Wrap(http.StatusNotImplemented, err)
	}
	if err != nil {
		// The status is sent: the client sees a backup cut short, which
		// inventory.ReadBackup refuses.
		s.Logger.Error("backup failed", "err", err)
		return nil
	}
	s.Logger.Info("backup sent", "bytes", info.DBBytes, "schema", info.Schema, "actor", actor(r))
	return nil
}
