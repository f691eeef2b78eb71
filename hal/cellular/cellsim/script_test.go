package cellsim

import (
	"strings"
	"testing"
	"time"

	"lifeline/hal/cellular/sms"
)

// DeliverPDUs round-trips through the decoder the module uses, in both
// alphabets and across parts.
func TestDeliverPDUs(t *testing.T) {
	when := time.Date(2026, 12, 5, 8, 30, 15, 0, time.FixedZone("", 3600))
	for _, text := range []string{"mains lost at 08:30", "Grüße € 👋", strings.Repeat("long ", 40)} {
		pdus, err := DeliverPDUs("+491701234567", text, when)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, p := range pdus {
			m, err := sms.DecodeDeliver(p)
			if err != nil {
				t.Fatalf("%q: %v", text, err)
			}
			if m.From != "+491701234567" || !m.Time.Equal(when) {
				t.Fatalf("%q: from %q at %v", text, m.From, m.Time)
			}
			got += m.Text
		}
		if got != text {
			t.Fatalf("text %q, want %q", got, text)
		}
	}
}

// Decode reads back what the host's encoder (sms.Submit) sent.
func TestSentSMSDecode(t *testing.T) {
	for _, text := range []string{"route changed to pstn", "Ünïcödé ✓"} {
		parts, err := sms.Submit("+4930123", text, 7)
		if err != nil {
			t.Fatal(err)
		}
		to, got, err := SentSMS{PDU: parts[0].Hex, Length: parts[0].TPDULen}.Decode()
		if err != nil || to != "+4930123" || got != text {
			t.Fatalf("Decode = %q %q %v", to, got, err)
		}
	}
	if _, _, err := (SentSMS{PDU: "0011"}).Decode(); err == nil {
		t.Fatal("a cut PDU decoded")
	}
	if to, text, _ := (SentSMS{To: "+1", Text: "hi"}).Decode(); to != "+1" || text != "hi" {
		t.Fatal("text mode")
	}
}

func FuzzSentSMSDecode(f *testing.F) {
	parts, _ := sms.Submit("+4930123", "hello", 1)
	f.Add(parts[0].Hex)
	f.Add("00110000")
	f.Fuzz(func(t *testing.T, pdu string) {
		SentSMS{PDU: pdu}.Decode()
	})
}
