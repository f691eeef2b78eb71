// Package kamailio talks JSON-RPC 2.0 to a running Kamailio over the
// jsonrpcs module's UNIX datagram transport, and keeps a desired next hop
// applied in Kamailio's htable across Kamailio restarts (Keeper).
//
// The package knows nothing of Lifeline's route logic: it stores the strings
// it is given under well-known htable keys that scripts/kamailio/lifeline.cfg
// reads.
package kamailio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by the client; wrapped with the socket path and method.
var (
	// ErrTimeout means no reply arrived before the deadline.
	ErrTimeout = errors.New("kamailio: no reply")
	// ErrClosed means the client was closed.
	ErrClosed = errors.New("kamailio: client closed")
	// ErrNotFound means the htable has no such key (Kamailio answered 500
	// "Key name doesn't exist in htable.", typically after a restart).
	ErrNotFound = errors.New("kamailio: key not found")
	// ErrProtocol means the reply was not a JSON-RPC 2.0 response.
	ErrProtocol = errors.New("kamailio: bad reply")
)

// RPCError is an error object returned by Kamailio.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string { return fmt.Sprintf("kamailio rpc error %d: %s", e.Code, e.Message) }

// DefaultTimeout bounds one call when the context has no earlier deadline.
const DefaultTimeout = 2 * time.Second

// Option configures a Client.
type Option func(*Client)

// WithTimeout sets the per-call timeout (default DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithLocalPath binds the client's own datagram socket at path instead of a
// fresh name in os.TempDir(). Kamailio sends each reply to this address, so
// it must be reachable (same filesystem namespace, permissions) by Kamailio.
func WithLocalPath(path string) Option { return func(c *Client) { c.local = path } }

// Client is one JSON-RPC endpoint bound to its own UNIX datagram socket.
// It is safe for concurrent use: calls are serialised by one mutex (the
// datagram socket carries one request at a time), and a reply whose id does
// not match the outstanding request (a late answer to a timed-out call) is
// discarded.
type Client struct {
	remote  *net.UnixAddr
	local   string
	timeout time.Duration

	mu     sync.Mutex // guards conn use, nextID, closed
	conn   *net.UnixConn
	nextID uint64
	closed bool
	buf    []byte
}

var localSeq atomic.Uint64

// Dial binds a local datagram socket and returns a client for the Kamailio
// jsonrpcs datagram socket at socketPath (modparam "dgram_socket"). Nothing
// is sent until the first call, so Dial succeeds while Kamailio is down.
func Dial(socketPath string, opts ...Option) (*Client, error) {
	c := &Client{
		remote:  &net.UnixAddr{Name: socketPath, Net: "unixgram"},
		timeout: DefaultTimeout,
		buf:     make([]byte, 64*1024),
	}
	for _, o := range opts {
		o(c)
	}
	if c.local == "" {
		c.local = filepath.Join(os.TempDir(),
			fmt.Sprintf("lifeline-kamailio-%d-%d.sock", os.Getpid(), localSeq.Add(1)))
	}
	_ = os.Remove(c.local) // a stale socket from a killed process
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: c.local, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("kamailio: bind reply socket %s: %w", c.local, err)
	}
	// Kamailio may run as another user; let it write its replies.
	_ = os.Chmod(c.local, 0o666)
	c.conn = conn
	return c, nil
}

// LocalPath returns the path of the client's own socket.
func (c *Client) LocalPath() string { return c.local }

// Close releases the socket and removes its file. It is idempotent; a call in
// progress returns ErrClosed.
func (c *Client) Close() error {
	// Unblock a call in flight before taking the lock it holds.
	_ = c.conn.SetReadDeadline(time.Unix(1, 0))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	err := c.conn.Close()
	_ = os.Remove(c.local)
	return err
}

type request struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  []any  `json:"params,omitempty"`
	ID      uint64 `json:"id"`
}

type response struct {
	JSONRPC string          `json:"jsonrpc"`
	Result  json.RawMessage `json:"result"`
	Error   *RPCError       `json:"error"`
	ID      *uint64         `json:"id"`
}

// Call sends one request and waits for its reply until ctx is done or the
// client's timeout passes. It returns the raw "result" member.
func (c *Client) Call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("%s on %s: %w", method, c.remote.Name, ErrClosed)
	}
	c.nextID++
	id := c.nextID
	b, err := json.Marshal(request{JSONRPC: "2.0", Method: method, Params: params, ID: id})
	if err != nil {
		return nil, fmt.Errorf("%s on %s: encode: %w", method, c.remote.Name, err)
	}
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("%s on %s: %w", method, c.remote.Name, err)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = c.conn.SetReadDeadline(time.Unix(1, 0))
		close(fired)
	})
	defer func() {
		if !stop() {
			<-fired // never let a late deadline leak into the next call
		}
	}()

	if _, err := c.conn.WriteToUnix(b, c.remote); err != nil {
		return nil, fmt.Errorf("%s on %s: send: %w", method, c.remote.Name, err)
	}
	for {
		n, _, err := c.conn.ReadFromUnix(c.buf)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return nil, fmt.Errorf("%s on %s: %w", method, c.remote.Name, cerr)
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil, fmt.Errorf("%s on %s: %w", method, c.remote.Name, ErrTimeout)
			}
			return nil, fmt.Errorf("%s on %s: receive: %w", method, c.remote.Name, err)
		}
		resp, err := parseResponse(c.buf[:n])
		if err != nil {
			return nil, fmt.Errorf("%s on %s: %w", method, c.remote.Name, err)
		}
		if resp.ID == nil || *resp.ID != id {
			continue // a late reply to an earlier, timed-out call
		}
		if resp.Error != nil {
			if resp.Error.Code == 500 && resp.Error.Message == "Key name doesn't exist in htable." {
				return nil, fmt.Errorf("%s on %s: %w (%w)", method, c.remote.Name, ErrNotFound, resp.Error)
			}
			return nil, fmt.Errorf("%s on %s: %w", method, c.remote.Name, resp.Error)
		}
		return resp.Result, nil
	}
}

// parseResponse decodes one JSON-RPC 2.0 reply datagram.
func parseResponse(b []byte) (response, error) {
	r, err := decodeResponse(b)
	if err != nil {
		return r, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	if r.JSONRPC != "2.0" {
		return r, fmt.Errorf("%w: jsonrpc version %q", ErrProtocol, r.JSONRPC)
	}
	if r.Error == nil && r.Result == nil {
		return r, fmt.Errorf("%w: neither result nor error", ErrProtocol)
	}
	return r, nil
}
