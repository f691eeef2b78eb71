// Package kamailiotest is a fake Kamailio jsonrpcs datagram endpoint for
// tests: an in-memory htable answering htable.sets, htable.get,
// htable.delete and core.uptime over a UNIX datagram socket, with switches
// to simulate a restart (table emptied) and an unresponsive process.
package kamailiotest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// Server is the fake. Its goroutine starts in Start and stops in Close,
// which waits for it. All methods are safe for concurrent use; mu guards
// the table and switches, and cond signals every change.
type Server struct {
	path string
	conn *net.UnixConn

	mu       sync.Mutex
	cond     *sync.Cond
	table    map[string]string // "table\x00key" -> value
	mute     bool
	restarts int
	calls    map[string]int

	done      chan struct{}
	closeOnce sync.Once
}

// Start listens on path and serves until Close.
func Start(path string) (*Server, error) {
	_ = os.Remove(path)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("kamailiotest: listen %s: %w", path, err)
	}
	s := &Server{path: path, conn: conn, table: map[string]string{}, calls: map[string]int{}, done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	go s.serve()
	return s, nil
}

// Path returns the socket path.
func (s *Server) Path() string { return s.path }

// Close stops serving and waits. Idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		_ = s.conn.Close()
		_ = os.Remove(s.path)
	})
	<-s.done
	return nil
}

// Restart empties the table as a Kamailio restart does.
func (s *Server) Restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.table = map[string]string{}
	s.restarts++
	s.cond.Broadcast()
}

// Mute makes the server swallow requests without replying (true) or answer
// again (false).
func (s *Server) Mute(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mute = on
}

// Value returns the stored value and whether it exists.
func (s *Server) Value(table, key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.table[table+"\x00"+key]
	return v, ok
}

// Calls returns how many requests of method were answered.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// WaitValue blocks until table/key holds value or ctx is done.
func (s *Server) WaitValue(ctx context.Context, table, key, value string) error {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.table[table+"\x00"+key] != value {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("kamailiotest: waiting for %s=>%s == %q (have %q): %w", table, key, value, s.table[table+"\x00"+key], err)
		}
		s.cond.Wait()
	}
	return nil
}

type request struct {
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
	ID     json.RawMessage   `json:"id"`
}

func (s *Server) serve() {
	defer close(s.done)
	buf := make([]byte, 64*1024)
	for {
		n, from, err := s.conn.ReadFromUnix(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		reply := s.handle(buf[:n])
		if reply != nil && from != nil {
			_, _ = s.conn.WriteToUnix(reply, from)
		}
	}
}

func (s *Server) handle(b []byte) []byte {
	var req request
	if err := json.Unmarshal(b, &req); err != nil {
		return mustJSON(map[string]any{"jsonrpc": "2.0", "error": map[string]any{"code": -32700, "message": "Parse error"}, "id": nil})
	}
	var params []string
	for _, p := range req.Params {
		var v string
		if json.Unmarshal(p, &v) != nil {
			v = string(p)
		}
		params = append(params, v)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mute {
		return nil
	}
	s.calls[req.Method]++
	var result any
	var rpcErr map[string]any
	switch req.Method {
	case "htable.sets":
		if len(params) != 3 {
			rpcErr = map[string]any{"code": 400, "message": "Invalid Parameters"}
			break
		}
		s.table[params[0]+"\x00"+params[1]] = params[2]
		s.cond.Broadcast()
		result = "Ok. Key set to new value."
	case "htable.get":
		if len(params) != 2 {
			rpcErr = map[string]any{"code": 400, "message": "Invalid Parameters"}
			break
		}
		v, ok := s.table[params[0]+"\x00"+params[1]]
		if !ok {
			rpcErr = map[string]any{"code": 500, "message": "Key name doesn't exist in htable."}
			break
		}
		result = map[string]any{"item": map[string]any{"name": params[1], "value": v, "flags": 2, "expire": "NEVER"}}
	case "htable.delete":
		if len(params) == 2 {
			delete(s.table, params[0]+"\x00"+params[1])
			s.cond.Broadcast()
		}
		result = "Ok. Key deleted."
	case "core.uptime":
		result = map[string]any{"now": time.Now().Format(time.ANSIC), "up_since": fmt.Sprintf("restart %d", s.restarts), "uptime": 1}
	default:
		rpcErr = map[string]any{"code": -32601, "message": "Method Not Found"}
	}
	resp := map[string]any{"jsonrpc": "2.0", "id": req.ID}
	if rpcErr != nil {
		resp["error"] = rpcErr
	} else {
		resp["result"] = result
	}
	return mustJSON(resp)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of plain values are marshalled
	}
	return b
}
