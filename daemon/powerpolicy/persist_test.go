package powerpolicy_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"lifeline/daemon/powerpolicy"
)

func TestDecodeShed(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		err  string
	}{
		{"empty", "", nil, ""},
		{"two", "wlan1\nlan4\n", []string{"wlan1", "lan4"}, ""},
		{"no final newline, blanks, comments, dupes", "# shed by lifeline\n\n wlan1 \nwlan1\nlan4", []string{"wlan1", "lan4"}, ""},
		{"bad name", "wlan1\nwl an1\n", nil, "state/shed:2"},
		{"too long", "abcdefghijklmnopq\n", nil, "state/shed:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := powerpolicy.DecodeShed("state/shed", []byte(tc.in))
			if tc.err != "" {
				if !errors.Is(err, powerpolicy.ErrShedFile) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want ErrShedFile naming %s", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func FuzzDecodeShed(f *testing.F) {
	f.Add([]byte("wlan1\nlan4\n"))
	f.Add([]byte("# x\n\n\x00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		names, err := powerpolicy.DecodeShed("f", data)
		if err != nil {
			return
		}
		// Round trip: what decodes re-encodes to the same set.
		again, err := powerpolicy.DecodeShed("f", powerpolicy.EncodeShed(names))
		if err != nil || !slices.Equal(again, names) {
			t.Errorf("round trip %q -> %q, %v", names, again, err)
		}
	})
}
