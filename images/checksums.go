package images

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"strings"
)

// MaxChecksumsBytes bounds a checksums file read from the network.
const MaxChecksumsBytes = 4 << 20

// ChecksumFor finds the sha256 of the file called name (its base name) in
// a checksums file as distributions publish them (SHA256SUMS, SHA256SUMS
// of Fedora's CHECKSUM): GNU lines "HEX  NAME" or "HEX *NAME", and BSD
// lines "SHA256 (NAME) = HEX". Lines for other files, comments, PGP
// armour and other digests are skipped. It fails when name has no sha256
// line, or two that disagree.
func ChecksumFor(sums []byte, name string) (string, error) {
	name = path.Base(name)
	if len(sums) > MaxChecksumsBytes {
		return "", fmt.Errorf("%w: checksums file of %d bytes (at most %d)", ErrInvalid, len(sums), MaxChecksumsBytes)
	}
	found, entries := "", 0
	sc := bufio.NewScanner(bytes.NewReader(sums))
	sc.Buffer(make([]byte, 0, 64<<10), MaxChecksumsBytes)
	for sc.Scan() {
		file, sum, ok := checksumLine(strings.TrimSpace(sc.Text()))
		if !ok {
			continue
		}
		entries++
		if path.Base(file) != name {
			continue
		}
		if found != "" && found != sum {
			return "", fmt.Errorf("%w: the checksums file gives %s two different sha256 sums", ErrInvalid, name)
		}
		found = sum
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("%w: checksums file: %v", ErrInvalid, err)
	}
	if found == "" {
		return "", fmt.Errorf("%w: no sha256 for %q among the %d in the checksums file", ErrInvalid, name, entries)
	}
	return found, nil
}

// checksumLine reads one sha256 line in either style.
func checksumLine(l string) (file, sum string, ok bool) {
	if rest, found := strings.CutPrefix(l, "SHA256 ("); found {
		i := strings.LastIndex(rest, ") = ")
		if i < 0 {
			return "", "", false
		}
		file, sum = rest[:i], strings.ToLower(strings.TrimSpace(rest[i+4:]))
	} else {
		sum, file, ok = strings.Cut(l, " ")
		if !ok {
			return "", "", false
		}
		sum = strings.ToLower(sum)
		file = strings.TrimPrefix(strings.TrimLeft(file, " "), "*")
	}
	return file, sum, file != "" && validDigest(sum)
}
