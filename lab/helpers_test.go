package lab

import (
	"os"
	"strings"
)

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o644) }

// isMissingImage is a LoadSpec error for a built image not built yet
// (make test-image): the spec itself is good.
func isMissingImage(err error) bool {
	return err != nil && strings.Contains(err.Error(), "images[0].file") && strings.Contains(err.Error(), "no such file")
}
