package sms

import (
	"strings"
	"testing"
	"time"
)

func BenchmarkSubmitAlert(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Submit("+491701234567", "gw1: mains lost 2026-12-04 17:05 UTC", 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeDeliver(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeDeliver("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAlertLong: a reason far longer than a part is cut, not
// shortened a character at a time.
func BenchmarkAlertLong(b *testing.B) {
	what := strings.Repeat("provider down ", 1000)
	when := time.Date(2026, 12, 4, 17, 5, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		Alert("gw1", what, when)
	}
}
