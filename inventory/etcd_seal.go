package inventory

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// checkSealKey compares this appliance's sealing key with the inventory's
// by a check value (an HMAC of a fixed text under the key, which reveals
// nothing of it); the first appliance stores it. A different key would
// seal secrets the other appliances cannot open, and could open none of
// theirs, so it is refused.
func (s *Etcd) checkSealKey(ctx context.Context) error {
	k := s.key("seal-check")
	want := hex.EncodeToString(s.seal.derive("seal key check"))
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, want)).
		Else(clientv3.OpGet(k)).Commit()
	if err != nil {
		return fmt.Errorf("check sealing key: %w", err)
	}
	if resp.Succeeded {
		return nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 1 && hmac.Equal(kvs[0].Value, []byte(want)) {
		return nil
	}
	return fmt.Errorf("prefix %s: %w: the appliances that share this inventory sealed it with another key; "+
		"give this one the same --seal-key-file", s.prefix, ErrSealKey)
}
