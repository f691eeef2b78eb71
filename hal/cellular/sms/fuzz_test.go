package sms

import (
	"errors"
	"testing"
)

func FuzzDecodeDeliver(f *testing.F) {
	for _, s := range []string{
		"07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
		"07911234567890F3040B911234556780F20008012150220040210C041F04400438043204350442",
		"00040ED0CCB4B9CC4EBBCB00046221407100009902FF01",
		"0044039121F300006221407100004009050003010201C8",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := DecodeDeliver(s); err != nil && !errors.Is(err, ErrPDU) {
			t.Fatalf("error %v does not wrap ErrPDU", err)
		}
	})
}

// FuzzSubmitRoundTrip: any text Submit accepts comes back whole through
// the decoder.
func FuzzSubmitRoundTrip(f *testing.F) {
	f.Add("hello €")
	f.Add("Привет 😀")
	f.Fuzz(func(t *testing.T, text string) {
		parts, err := Submit("+491701234567", text, 7)
		if err != nil {
			return
		}
		var got string
		for _, p := range parts {
			got += deliverOf(t, p, "+4930").Text
		}
		if want := string([]rune(text)); got != want {
			t.Fatalf("round trip %q, want %q", got, want)
		}
	})
}
