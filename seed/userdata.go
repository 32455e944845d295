package seed

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxPartBytes bounds one operator user-data part.
const MaxPartBytes = 256 << 10

// Part is one operator user-data part: a cloud-config (first line
// "#cloud-config") or a script (first line "#!"), as cloud-init takes them.
type Part struct {
	// Name says where the part came from, for its MIME filename and the
	// host's record: "host", or the name of a label-selected user-data.
	Name string
	Body string
}

// The MIME types cloud-init dispatches parts on.
const (
	typeCloudConfig = "text/cloud-config"
	typeScript      = "text/x-shellscript"
)

// mergeType makes cloud-init merge the cloud-config parts in order: lists
// (write_files, runcmd, packages, users) appended, mappings merged key by
// key, and for any other key set in two parts the earlier part's value
// kept. (cloud-init's dict "replace" returns the later value without
// looking inside it, so it cannot be had with appended lists: the seed
// puts the most specific part first instead.)
const mergeType = "list(append)+dict(no_replace,recurse_array)+str()"

// kind is the part's MIME type, from its first line.
func (p Part) kind() string {
	if strings.HasPrefix(p.Body, "#!") {
		return typeScript
	}
	return typeCloudConfig
}

// Check refuses a part cloud-init would not run: empty, too large, not
// UTF-8, a first line that is neither "#cloud-config" nor "#!", or a
// cloud-config that is not a YAML mapping (with the YAML error's line).
func (p Part) Check() error {
	what := "user-data"
	if p.Name != "" {
		what = "user-data " + p.Name
	}
	first, _, _ := strings.Cut(p.Body, "\n")
	first = strings.TrimRight(first, "\r \t")
	switch {
	case strings.TrimSpace(p.Body) == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalid, what)
	case len(p.Body) > MaxPartBytes:
		return fmt.Errorf("%w: %s is %d bytes (at most %d)", ErrInvalid, what, len(p.Body), MaxPartBytes)
	case !utf8.ValidString(p.Body):
		return fmt.Errorf("%w: %s is not UTF-8 text", ErrInvalid, what)
	case strings.HasPrefix(first, "#!"):
		return nil
	case first != "#cloud-config":
		return fmt.Errorf("%w: %s starts with %.40q: want a cloud-config (first line #cloud-config) or a script (first line #!)", ErrInvalid, what, first)
	}
	var doc any
	if err := yaml.Unmarshal([]byte(p.Body), &doc); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, what, err)
	}
	if _, ok := doc.(map[string]any); !ok && doc != nil {
		return fmt.Errorf("%w: %s: a cloud-config is a YAML mapping (key: value), not %T", ErrInvalid, what, doc)
	}
	return nil
}

// userData is the user-data file: a MIME multipart of the operator's
// parts, in order, then rackboot's script. Operator parts travel base64
// encoded, so no byte of theirs can end a MIME part early.
func userData(parts []Part, script string) (string, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for i, p := range parts {
		h := partHeader(p.kind(), fmt.Sprintf("%02d-%s", i+1, safeName(p.Name)), "base64")
		if p.kind() == typeCloudConfig {
			h.Set("Merge-Type", mergeType)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			return "", err
		}
		enc := base64.StdEncoding.EncodeToString([]byte(p.Body))
		for len(enc) > 76 {
			fmt.Fprintf(pw, "%s\r\n", enc[:76])
			enc = enc[76:]
		}
		fmt.Fprintf(pw, "%s\r\n", enc)
	}
	pw, err := w.CreatePart(partHeader(typeScript, "99-rackboot-agent.sh", "7bit"))
	if err != nil {
		return "", err
	}
	pw.Write([]byte(script))
	if err := w.Close(); err != nil {
		return "", err
	}
	return "Content-Type: multipart/mixed; boundary=\"" + w.Boundary() + "\"\r\nMIME-Version: 1.0\r\n\r\n" + body.String(), nil
}

func partHeader(typ, filename, encoding string) textproto.MIMEHeader {
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", typ+`; charset="utf-8"`)
	h.Set("MIME-Version", "1.0")
	h.Set("Content-Transfer-Encoding", encoding)
	h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	return h
}

// safeName keeps a part's name to characters a MIME filename takes as is.
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "part"
	}
	return string(b)
}
