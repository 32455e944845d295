package seed

import (
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// MaxSSHKeyBytes bounds one authorized_keys line (an RSA 16384 key with
// options fits).
const MaxSSHKeyBytes = 16 << 10

// CheckSSHKey accepts one authorized_keys line in any form sshd takes:
// options (from="…",command="…"), any key type including certificates and
// security keys, a comment with any characters. It refuses an empty line,
// more than one line, and anything ssh's own parser does not take for a
// public key.
func CheckSSHKey(line string) error {
	switch {
	case strings.TrimSpace(line) == "":
		return fmt.Errorf("%w: an empty SSH key", ErrInvalid)
	case len(line) > MaxSSHKeyBytes:
		return fmt.Errorf("%w: an SSH key of %d bytes (at most %d)", ErrInvalid, len(line), MaxSSHKeyBytes)
	case strings.ContainsAny(line, "\r\n\x00"):
		return fmt.Errorf("%w: an SSH key holds a line break or NUL: give one key a line", ErrInvalid)
	}
	key, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return fmt.Errorf("%w: not an SSH public key (%v): %.40q", ErrInvalid, err, line)
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: more than one SSH key in one line", ErrInvalid)
	}
	// The parser goes by the key's own bytes; sshd also wants the type
	// written before them to say the same.
	if !strings.Contains(line, key.Type()+" "+base64.StdEncoding.EncodeToString(key.Marshal())) {
		return fmt.Errorf("%w: the key's type is not %s as written: %.40q", ErrInvalid, key.Type(), line)
	}
	return nil
}
