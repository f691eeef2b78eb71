package modemsim

import "testing"

func TestCommandText(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{"plain", "ATH", "ATH"},
		{"blanks", "  at+vtr ", "at+vtr"},
		{"audio before the prefix", "\xd5\x10\x80\xffATH", "ATH"},
		{"printable audio before the prefix", "\x01xyzATDT123", "ATDT123"},
		{"no command", "\xd5\xd5", ""},
		{"not a command", "hello", "hello"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := commandText([]byte(tc.line)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
