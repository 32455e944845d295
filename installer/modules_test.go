package installer

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestLoadModules(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		LoadListPath: "# deps first\n/lib/modules/6.1/virtio.ko\nlib/modules/6.1/virtio_ring.ko\n\n" +
			"/lib/modules/6.1/failover.ko\n/lib/modules/6.1/missing.ko\n/lib/modules/6.1/virtio_net.ko\n",
		"lib/modules/6.1/virtio.ko":      "elf",
		"lib/modules/6.1/virtio_ring.ko": "elf",
		"lib/modules/6.1/failover.ko":    "elf",
		"lib/modules/6.1/virtio_net.ko":  "elf",
	}, nil)
	paths, err := readLoadList(root)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	load := func(f *os.File) error {
		name := filepath.Base(f.Name())
		order = append(order, name)
		if name == "failover.ko" {
			return syscall.EEXIST // built in or loaded before: fine
		}
		return nil
	}
	var log strings.Builder
	n := loadModules(root, paths, load, NewConsoleLogger(&log))
	if n != 4 {
		t.Errorf("loaded %d, want 4", n)
	}
	want := []string{"virtio.ko", "virtio_ring.ko", "failover.ko", "virtio_net.ko"}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if !strings.Contains(log.String(), "module not loaded module=missing.ko") {
		t.Errorf("log does not name the missing module:\n%s", log.String())
	}
}

func TestLoadModulesFailureIsLogged(t *testing.T) {
	root := fakeRoot(t, map[string]string{"m.ko": "elf"}, nil)
	var log strings.Builder
	n := loadModules(root, []string{"m.ko"}, func(*os.File) error { return errors.New("exec format error") }, NewConsoleLogger(&log))
	if n != 0 || !strings.Contains(log.String(), "exec format error") {
		t.Errorf("n=%d log=%q", n, log.String())
	}
}

func TestReadLoadListMissing(t *testing.T) {
	if _, err := readLoadList(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want not exist", err)
	}
}
