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

// Checksum is a digest a distribution publishes for a file.
type Checksum struct {
	Algo string // "sha256" or "sha512"
	Hex  string // lowercase
}

// ChecksumFor finds the digest of the file called name (its base name) in
// a checksums file as distributions publish them (Ubuntu's SHA256SUMS,
// Debian's SHA512SUMS, Fedora's CHECKSUM): GNU lines "HEX  NAME" or
// "HEX *NAME" (the digest told by its length: 64 hex digits sha256, 128
// sha512), and BSD lines "SHA256 (NAME) = HEX" or "SHA512 (…)". Comments,
// PGP armour, other files and other digests are skipped. sha256 is taken
// over sha512 when both are there. It fails when name has no line, or two
// of one kind that disagree.
func ChecksumFor(sums []byte, name string) (Checksum, error) {
	sha256, err := checksumFor(sums, name, 64, "SHA256")
	if err == nil {
		return Checksum{Algo: "sha256", Hex: sha256}, nil
	}
	sha512, err512 := checksumFor(sums, name, 128, "SHA512")
	if err512 == nil {
		return Checksum{Algo: "sha512", Hex: sha512}, nil
	}
	return Checksum{}, err
}

func checksumFor(sums []byte, name string, digits int, bsd string) (string, error) {
	name = path.Base(name)
	if len(sums) > MaxChecksumsBytes {
		return "", fmt.Errorf("%w: checksums file of %d bytes (at most %d)", ErrInvalid, len(sums), MaxChecksumsBytes)
	}
	found, entries := "", 0
	sc := bufio.NewScanner(bytes.NewReader(sums))
	sc.Buffer(make([]byte, 0, 64<<10), MaxChecksumsBytes)
	for sc.Scan() {
		file, sum, ok := checksumLine(strings.TrimSpace(sc.Text()), digits, bsd)
		if !ok {
			continue
		}
		entries++
		if path.Base(file) != name {
			continue
		}
		if found != "" && found != sum {
			return "", fmt.Errorf("%w: the checksums file gives %s two different %s sums", ErrInvalid, name, strings.ToLower(bsd))
		}
		found = sum
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("%w: checksums file: %v", ErrInvalid, err)
	}
	if found == "" {
		return "", fmt.Errorf("%w: no sha256 or sha512 for %q among the %d %s sums in the checksums file", ErrInvalid, name, entries, strings.ToLower(bsd))
	}
	return found, nil
}

// checksumLine reads one line in either style, for a digest of digits
// hex digits whose BSD name is bsd.
func checksumLine(l string, digits int, bsd string) (file, sum string, ok bool) {
	if rest, found := strings.CutPrefix(l, bsd+" ("); found {
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
	return file, sum, file != "" && len(sum) == digits && strings.Trim(sum, "0123456789abcdef") == ""
}
