package images

import "fmt"

// maxNameLen keeps a name (plus ".json") well inside a file name's limit.
const maxNameLen = 128

// ValidName checks an image name: 1 to 128 letters, digits, '.', '_' or
// '-', starting with a letter or digit. Names become file names, so no
// slashes, no dot-dot, no hidden files.
func ValidName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("%w: image name %q: want 1 to %d characters", ErrInvalid, name, maxNameLen)
	}
	for i, c := range name {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("%w: image name %q: want letters, digits, '.', '_' and '-', starting with a letter or digit", ErrInvalid, name)
		}
	}
	return nil
}
