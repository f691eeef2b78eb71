package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"lifeline/daemon"
	"lifeline/hal/jsonread"
)

// rpcdStdin is where `rpcd call` reads its arguments; tests replace it.
var rpcdStdin io.Reader = os.Stdin

// rpcdMethods is the answer to `list`: each method with an example of its
// arguments, from whose JSON types rpcd derives the ubus signature.
var rpcdMethods = map[string]map[string]any{
	"status":   {},
	"override": {"mode": "pstn", "for": "1h"},
}

// overrideArgs are the arguments of `ubus call lifeline override`.
type overrideArgs struct {
	Mode string `json:"mode"`
	For  string `json:"for"`
}

// decode reads the arguments as encoding/json would (unknown members are
// ignored, names match case-insensitively).
func (a *overrideArgs) decode(data []byte) error {
	d := jsonread.New(data)
	err := d.Fields(decodeFields, false, func(i int) error {
		switch i {
		case 0: // mode
			return d.SetString(&a.Mode)
		case 1: // for
			return d.SetString(&a.For)
		}
		return nil
	})
	if err == nil {
		err = d.End()
	}
	return err
}

// cmdRpcd is the rpcd plugin protocol (rpcd runs /usr/libexec/rpcd/lifeline,
// which execs this): `list` prints the methods; `call METHOD` reads the
// arguments as a JSON object on stdin and prints the result, a JSON object:
// the status of `lifeline status --json`, or {"error": "..."} when the
// daemon refuses or cannot be reached.
func cmdRpcd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rpcd", stderr)
	sock := socketFlag(fs)
	pos, err := parse(fs, args, 1, 2)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	switch {
	case pos[0] == "list" && len(pos) == 1:
		return enc.Encode(rpcdMethods)
	case pos[0] == "call" && len(pos) == 2:
	default:
		return fmt.Errorf("%w: want list or call METHOD", errUsage)
	}
	st, err := rpcdCall(*sock, pos[1])
	if err != nil {
		return enc.Encode(map[string]string{"error": err.Error()})
	}
	return enc.Encode(st)
}

func rpcdCall(sock, method string) (*daemon.Status, error) {
	var in overrideArgs
	if data, err := io.ReadAll(io.LimitReader(rpcdStdin, 64<<10)); err == nil && len(data) > 0 {
		if err := in.decode(data); err != nil {
			return nil, fmt.Errorf("arguments: %v", err)
		}
	}
	switch method {
	case "status":
		return call(sock, daemon.Request{Cmd: "status"})
	case "override":
		if _, err := daemon.ParseMode(in.Mode); err != nil {
			return nil, err
		}
		if in.For != "" && in.Mode == "auto" {
			return nil, fmt.Errorf("'for' makes no sense with mode auto")
		}
		return call(sock, daemon.Request{Cmd: "override", Mode: in.Mode, For: in.For})
	}
	return nil, fmt.Errorf("unknown method %q (want status or override)", method)
}

// Member names, in the order of the decoders' switch cases.
var (
	decodeFields = []string{"mode", "for"}
)
