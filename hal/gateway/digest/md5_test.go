package digest

import (
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"
)

// RFC 1321 appendix A.5's test suite.
func TestMD5RFC1321(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "d41d8cd98f00b204e9800998ecf8427e",
		"a":                          "0cc175b9c0f1b6a831c399e269772661",
		"abc":                        "900150983cd24fb0d6963f7d28e17f72",
		"message digest":             "f96b697d7cb7938d525a2f31aaf161d0",
		"abcdefghijklmnopqrstuvwxyz": "c3fcd3d76192e4007dfb496cca67e13b",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789":                   "d174ab98d277d9f5a5611c2c9f419d9f",
		"12345678901234567890123456789012345678901234567890123456789012345678901234567890": "57edf4a22be3c955ac49da2e2107b67a",
	} {
		got := md5sum([]byte(in))
		if hex.EncodeToString(got[:]) != want {
			t.Errorf("md5(%q) = %x, want %s", in, got, want)
		}
	}
}

// FuzzMD5: md5sum agrees with crypto/md5 (used only here) on any input,
// in any split into parts.
func FuzzMD5(f *testing.F) {
	f.Add([]byte("abc"), 1)
	f.Add([]byte(strings.Repeat("x", 200)), 64)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		if cut < 0 || cut > len(data) {
			cut = len(data) / 2
		}
		if got, want := md5sum(data[:cut], data[cut:]), md5.Sum(data); got != want {
			t.Fatalf("md5sum(%x) = %x, want %x", data, got, want)
		}
	})
}
