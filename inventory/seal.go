package inventory

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/rackboot/rackboot/atomicfile"
)

// sealer encrypts secrets at rest with AES-256-GCM under a key kept in its
// own file beside the database, so a copy of the database alone reveals
// nothing.
type sealer struct {
	aead cipher.AEAD
	key  []byte
}

// loadSealer reads the key at path, creating it (mode 0600) when absent.
func loadSealer(path string) (*sealer, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key %s: want 32 bytes, found %d", path, len(key))
	}
	return newSealer(key)
}

// newSealer seals with key, 32 bytes.
func newSealer(key []byte) (*sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &sealer{aead: aead, key: key}, nil
}

func createKey(path string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(path, key, 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

// seal returns nonce‖ciphertext. The MAC is bound as additional data, so a
// sealed password cannot be moved to another host's record.
func (s *sealer) seal(plain, mac string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on Linux
	}
	return s.aead.Seal(nonce, nonce, []byte(plain), []byte(mac))
}

func (s *sealer) open(sealed []byte, mac string) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("open sealed secret: too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(mac))
	if err != nil {
		return "", fmt.Errorf("open sealed secret: %w", err)
	}
	return string(plain), nil
}

// DeriveKey returns a key for one purpose (boot tokens, say), derived from
// the data dir's secret key, so every secret of an appliance stems from one
// file and no two purposes share a key.
func (db *DB) DeriveKey(purpose string) []byte { return db.seal.derive(purpose) }

func (s *sealer) derive(purpose string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("rackboot derived key\x00" + purpose))
	return m.Sum(nil)
}
