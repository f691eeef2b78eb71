package powerpolicy

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"lifeline/hal/ifctl"
)

// ErrShedFile is wrapped by DecodeShed.
var ErrShedFile = errors.New("bad shed-interfaces file")

// EncodeShed renders the set of interfaces Lifeline took down for the state
// dir: one name per line.
func EncodeShed(names []string) []byte {
	var b bytes.Buffer
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// DecodeShed parses what EncodeShed wrote. Blank lines and lines starting
// with '#' are skipped, duplicates dropped; a line that is not an interface
// name is an error naming the line (name is the file, for the message).
func DecodeShed(name string, data []byte) ([]string, error) {
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !ifctl.ValidName(line) {
			return nil, fmt.Errorf("%w: %s:%d: %q is not an interface name", ErrShedFile, name, i+1, line)
		}
		if !slices.Contains(out, line) {
			out = append(out, line)
		}
	}
	return out, nil
}
