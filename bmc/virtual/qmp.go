package virtual

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// QMP is a client for the QEMU Machine Protocol on a unix socket: JSON
// objects both ways, a greeting, capabilities negotiation, then commands
// matched to replies by id, with asynchronous events in between.
type QMP struct {
	conn   net.Conn
	events chan Event
	done   chan struct{} // closed when the read loop has ended

	mu      sync.Mutex
	enc     *json.Encoder
	nextID  uint64
	pending map[uint64]chan qmpReply
	err     error // why the read loop ended
}

// Event is one asynchronous QMP event (SHUTDOWN, RESET, POWERDOWN, …).
type Event struct {
	Name string
	Data json.RawMessage
}

// QMPError is an error answered by QEMU to a command.
type QMPError struct {
	Class string `json:"class"`
	Desc  string `json:"desc"`
}

func (e *QMPError) Error() string { return e.Class + ": " + e.Desc }

// ErrQMPClosed is returned for a command whose connection ended before
// QEMU answered (which is the normal outcome of "quit").
var ErrQMPClosed = errors.New("qmp connection closed")

type qmpMessage struct {
	QMP    json.RawMessage `json:"QMP"`
	Return json.RawMessage `json:"return"`
	Error  *QMPError       `json:"error"`
	Event  string          `json:"event"`
	Data   json.RawMessage `json:"data"`
	ID     *uint64         `json:"id"`
}

type qmpReply struct {
	ret json.RawMessage
	err error
}

// DialQMP connects to the QMP socket at path, reads the greeting and
// negotiates capabilities. Events are buffered; when nobody reads them the
// oldest-first buffer fills and later events are dropped rather than
// stalling command replies.
func DialQMP(ctx context.Context, path string) (*QMP, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("qmp dial: %w", err)
	}
	q := &QMP{
		conn:    conn,
		events:  make(chan Event, 16),
		done:    make(chan struct{}),
		enc:     json.NewEncoder(conn),
		pending: map[uint64]chan qmpReply{},
	}
	dec := json.NewDecoder(conn)
	if err := q.readGreeting(ctx, dec); err != nil {
		conn.Close()
		return nil, err
	}
	go q.readLoop(dec)
	if _, err := q.Execute(ctx, "qmp_capabilities", nil); err != nil {
		q.Close()
		return nil, fmt.Errorf("qmp capabilities: %w", err)
	}
	return q, nil
}

func (q *QMP) readGreeting(ctx context.Context, dec *json.Decoder) error {
	if dl, ok := ctx.Deadline(); ok {
		q.conn.SetReadDeadline(dl)
		defer q.conn.SetReadDeadline(time.Time{})
	}
	var m qmpMessage
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("qmp greeting: %w", err)
	}
	if m.QMP == nil {
		return errors.New("qmp greeting: not a QMP server")
	}
	return nil
}

// Execute runs one command and returns its "return" value.
func (q *QMP) Execute(ctx context.Context, command string, args any) (json.RawMessage, error) {
	ch, err := q.send(command, args)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.ret, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("qmp %s: %w", command, ctx.Err())
	}
}

func (q *QMP) send(command string, args any) (chan qmpReply, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return nil, fmt.Errorf("qmp %s: %w", command, q.err)
	}
	q.nextID++
	id := q.nextID
	ch := make(chan qmpReply, 1)
	q.pending[id] = ch
	msg := map[string]any{"execute": command, "id": id}
	if args != nil {
		msg["arguments"] = args
	}
	if err := q.enc.Encode(msg); err != nil {
		delete(q.pending, id)
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	return ch, nil
}

func (q *QMP) readLoop(dec *json.Decoder) {
	defer close(q.done)
	for {
		var m qmpMessage
		if err := dec.Decode(&m); err != nil {
			q.fail(err)
			return
		}
		q.dispatch(m)
	}
}

func (q *QMP) dispatch(m qmpMessage) {
	if m.Event != "" {
		select {
		case q.events <- Event{Name: m.Event, Data: m.Data}:
		default: // nobody is listening; an event must never block a reply
		}
		return
	}
	if m.ID == nil {
		return
	}
	q.mu.Lock()
	ch := q.pending[*m.ID]
	delete(q.pending, *m.ID)
	q.mu.Unlock()
	if ch == nil {
		return
	}
	if m.Error != nil {
		ch <- qmpReply{err: m.Error}
		return
	}
	ch <- qmpReply{ret: m.Return}
}

// fail ends every pending command with ErrQMPClosed and closes Events.
func (q *QMP) fail(cause error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.err = fmt.Errorf("%w: %v", ErrQMPClosed, cause)
	for id, ch := range q.pending {
		ch <- qmpReply{err: q.err}
		delete(q.pending, id)
	}
	close(q.events)
}

// Events delivers asynchronous events until the connection ends.
func (q *QMP) Events() <-chan Event { return q.events }

// Close closes the connection and waits for the read loop to end.
func (q *QMP) Close() error {
	err := q.conn.Close()
	<-q.done
	return err
}
