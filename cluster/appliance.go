package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Appliance is one appliance's registration, as the others see it.
type Appliance struct {
	ID       string    `json:"id"`
	URL      string    `json:"url,omitempty"` // machine-facing HTTP base (boot files, image blobs)
	API      string    `json:"api,omitempty"` // operator API URL (https:// unless --insecure-http)
	Networks []Network `json:"networks,omitempty"`
	Version  string    `json:"version,omitempty"`
	Started  time.Time `json:"started"`
}

// Network is a network an appliance serves DHCP on.
type Network struct {
	Prefix    string `json:"prefix"` // the subnet, e.g. 10.0.0.0/24
	Mode      string `json:"mode"`   // full, reservation, proxy
	Interface string `json:"interface,omitempty"`
}

// Status is an appliance as listed: its registration and which networks'
// DHCP it leads. Only appliances whose session is alive are listed: the
// registration goes with the session's lease.
type Status struct {
	Appliance
	Leads []string `json:"leads"`
}

// Member is this appliance in the cluster. Client and ID are required.
type Member struct {
	Client *clientv3.Client
	Prefix string // the inventory's prefix; default "/rackboot/"
	ID     string
	// TTL is the session's lifetime: an appliance that stops answering
	// loses its registration and its leadership this long after; default 5s.
	TTL    time.Duration
	Logger *slog.Logger // silent when nil
}

func (m *Member) prefix() string {
	p := m.Prefix
	if p == "" {
		p = "/rackboot/"
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

func (m *Member) ttl() time.Duration {
	if m.TTL < time.Second {
		return 5 * time.Second
	}
	return m.TTL
}

func (m *Member) log() *slog.Logger {
	if m.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Logger
}

func (m *Member) applianceKey(id string) string { return m.prefix() + "appliances/" + id }

func (m *Member) electionPrefix(network string) string {
	return m.prefix() + "elections/dhcp/" + strings.ReplaceAll(network, "/", "_") + "/"
}

// ErrDuplicateID is another live appliance registered under this id.
var ErrDuplicateID = errors.New("another appliance is registered under this id")

// Register keeps a registered until ctx ends: put on a session's lease,
// put again on a new session when one is lost. It gives up
// (ErrDuplicateID) when another live appliance holds the id for longer
// than a session of this one's would last.
func (m *Member) Register(ctx context.Context, a Appliance) error {
	a.ID = m.ID
	v, err := json.Marshal(a)
	if err != nil {
		return err
	}
	first := true
	// A restart finds its own registration of before until that session's
	// lease runs out; another live appliance keeps it longer.
	patience := time.Now().Add(2*m.ttl() + time.Second)
	for ctx.Err() == nil {
		t, err := m.newTerm(ctx)
		if err == nil {
			err = m.putRegistration(ctx, t, string(v), first)
		}
		if errors.Is(err, ErrDuplicateID) && time.Now().After(patience) {
			t.revoke()
			t.close()
			return fmt.Errorf("register appliance %s: %w", m.ID, err)
		}
		if err != nil && !errors.Is(err, ErrDuplicateID) {
			m.log().Warn("appliance registration failed; retrying", "err", err)
		} else if err == nil {
			first = false
			select {
			case <-t.Done():
				m.log().Warn("etcd session lost; registering again")
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil || err != nil {
			t.revoke() // stopping, or a term that holds nothing
		}
		t.close()
		sleep(ctx, 200*time.Millisecond)
	}
	return nil
}

func (m *Member) putRegistration(ctx context.Context, t *term, v string, first bool) error {
	if t == nil {
		return errors.New("no session")
	}
	k := m.applianceKey(m.ID)
	txn := m.Client.Txn(ctx)
	if first { // at start, a live registration under our id is another appliance
		txn = txn.If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0))
	}
	resp, err := txn.Then(clientv3.OpPut(k, v, clientv3.WithLease(t.lease))).Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return ErrDuplicateID
	}
	return nil
}

// Appliances lists the live appliances and what each leads, by id.
func (m *Member) Appliances(ctx context.Context) ([]Status, error) {
	resp, err := m.Client.Txn(ctx).Then(
		clientv3.OpGet(m.prefix()+"appliances/", clientv3.WithPrefix()),
		clientv3.OpGet(m.prefix()+"elections/dhcp/", clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, fmt.Errorf("list appliances: %w", err)
	}
	byID := map[string]*Status{}
	out := []*Status{}
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		s := &Status{Leads: []string{}}
		if err := json.Unmarshal(kv.Value, &s.Appliance); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		byID[s.ID] = s
		out = append(out, s)
	}
	for network, id := range leaders(resp.Responses[1].GetResponseRange().Kvs, m.prefix()+"elections/dhcp/") {
		if s, ok := byID[id]; ok {
			s.Leads = append(s.Leads, network)
		}
	}
	list := make([]Status, len(out))
	for i, s := range out {
		sort.Strings(s.Leads)
		list[i] = *s
	}
	return list, nil
}
