package sms

import (
	"errors"
	"strings"
	"testing"
	"time"

	"lifeline/hal/cellular/at"
)

func TestAlphabet(t *testing.T) {
	if len(gsm7) != 128 {
		t.Fatalf("default alphabet has %d entries", len(gsm7))
	}
	all := "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà^{}\\[~]|€\f"
	s, ok := ToGSM7(all)
	if !ok || FromGSM7(s) != all {
		t.Fatalf("round trip: %q, %v", FromGSM7(s), ok)
	}
	if s, _ := ToGSM7("€"); string(s) != "\x1b\x65" {
		t.Errorf("€ = % x, want 1b 65", s)
	}
	if _, ok := ToGSM7("Grüße 😀"); ok {
		t.Error("emoji accepted as GSM 7-bit")
	}
	if got := FromGSM7([]byte{esc, 0x41, esc}); got != "A" {
		t.Errorf("unknown escape = %q, want A", got)
	}
}

func TestPack7(t *testing.T) {
	// 3GPP TS 23.038 6.1.2.1.1 packing: "hellohello" is the classic
	// E8329BFD4697D9EC37.
	s, _ := ToGSM7("hellohello")
	if got := hexUpper(pack7(s, 0)); got != "E8329BFD4697D9EC37" {
		t.Fatalf("pack7 = %s", got)
	}
	for fill := range 7 {
		u, err := unpack7(pack7(s, fill), fill, len(s))
		if err != nil || string(u) != string(s) {
			t.Errorf("fill %d: %q, %v", fill, u, err)
		}
	}
}

func TestSubmitVectors(t *testing.T) {
	// The widely published SMS-SUBMIT example: "hellohello" to
	// +46708251358, TP-VP AA (4 days).
	parts, err := submit("+46708251358", "hellohello", 0, 0xAA)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 1 || parts[0].Hex != "0011000B916407281553F80000AA0AE8329BFD4697D9EC37" || parts[0].TPDULen != 23 {
		t.Fatalf("got %+v", parts)
	}
	parts, err = Submit("0301234", "Привет", 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := "0011000781301032F40008A70C041F04400438043204350442"; parts[0].Hex != want {
		t.Fatalf("UCS-2 = %s, want %s", parts[0].Hex, want)
	}
	for _, bad := range []struct{ to, text string }{{"+", "x"}, {"12a", "x"}, {"123", ""}, {"123456789012345678901", "x"}} {
		if _, err := Submit(bad.to, bad.text, 0); !errors.Is(err, ErrEncode) {
			t.Errorf("Submit(%q, %q) err = %v", bad.to, bad.text, err)
		}
	}
}

// deliverOf turns a submit part into the deliver a phone would receive, to
// round-trip through DecodeDeliver: same DCS and user data.
func deliverOf(t *testing.T, p Part, from string) Message {
	t.Helper()
	tpdu := p.Hex[2:]
	fo := tpdu[:2]
	daLen := int(fromHex(tpdu[4:6]))
	rest := tpdu[4+4+2*((daLen+1)/2):] // after TP-DA
	pid, dcs, ud := rest[:2], rest[2:4], rest[6:]
	first := "04"
	if fo == "51" {
		first = "44"
	}
	oa, _ := encodeAddress(from)
	m, err := DecodeDeliver("00" + first + hexUpper(oa) + pid + dcs + "62214071000040" + ud)
	if err != nil {
		t.Fatalf("decode %s: %v", p.Hex, err)
	}
	return m
}

func fromHex(s string) byte {
	const digits = "0123456789ABCDEF"
	return byte(strings.IndexByte(digits, s[0])<<4 | strings.IndexByte(digits, s[1]))
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		parts      int
	}{
		{"ascii", "gw1: mains lost 2026-12-04 17:05 CET", 1},
		{"ext", "{price} 5€ [ok] ~|^\\", 1},
		{"160", strings.Repeat("a", 160), 1},
		{"161", strings.Repeat("a", 161), 2},
		{"escape at cut", strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10), 2},
		{"ucs2 70", strings.Repeat("ж", 70), 1},
		{"ucs2 71", strings.Repeat("ж", 71), 2},
		{"surrogate at cut", strings.Repeat("ж", 66) + "😀" + "xxxxx", 2},
		{"long", strings.Repeat("0123456789", 50), 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts, err := Submit("+491701234567", tc.text, 42)
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != tc.parts {
				t.Fatalf("%d parts, want %d", len(parts), tc.parts)
			}
			var got strings.Builder
			for i, p := range parts {
				if p.TPDULen != len(p.Hex)/2-1 {
					t.Errorf("part %d TPDULen %d for %d hex digits", i, p.TPDULen, len(p.Hex))
				}
				m := deliverOf(t, p, "+491701234567")
				if m.From != "+491701234567" {
					t.Errorf("from %q", m.From)
				}
				if tc.parts > 1 && (m.Concat == nil || *m.Concat != (Concat{42, tc.parts, i + 1})) {
					t.Errorf("part %d concat %+v", i, m.Concat)
				}
				got.WriteString(m.Text)
			}
			if got.String() != tc.text {
				t.Errorf("round trip %q, want %q", got.String(), tc.text)
			}
		})
	}
}

func TestDecodeDeliver(t *testing.T) {
	for _, tc := range []struct {
		name, pdu string
		want      Message
	}{
		{
			// The widely published SMS-DELIVER example.
			"7-bit", "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
			Message{SMSC: "+27381000015", From: "27838890001", Time: time.Date(1999, 3, 29, 15, 16, 59, 0, time.FixedZone("", 2*3600)), Text: "hellohello"},
		},
		{
			// chan_dongle's +CMGR sample (UCS-2, Russian "Привет").
			"ucs2", "07911234567890F3040B911234556780F20008012150220040210C041F04400438043204350442",
			Message{SMSC: "+21436587093", From: "+21435576082", DCS: 8, Time: time.Date(2010, 12, 5, 22, 0, 4, 0, time.FixedZone("", 3*3600)), Text: "Привет"},
		},
		{
			// Alphanumeric sender "Lifeline" (TON 101), 8-bit data, negative zone.
			"alpha 8-bit", "00040ED0CCB4B9CC4EBBCB00046221407100009902FF01",
			Message{From: "Lifeline", Alphanumeric: true, DCS: 4, Time: time.Date(2026, 12, 4, 17, 0, 0, 0, time.FixedZone("", -4*3600-45*60)), Data: []byte{0xFF, 0x01}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeDeliver(tc.pdu)
			if err != nil {
				t.Fatal(err)
			}
			if m.SMSC != tc.want.SMSC || m.From != tc.want.From || m.Alphanumeric != tc.want.Alphanumeric || m.DCS != tc.want.DCS ||
				!m.Time.Equal(tc.want.Time) || m.Text != tc.want.Text || string(m.Data) != string(tc.want.Data) {
				t.Errorf("got %+v\nwant %+v", m, tc.want)
			}
			_, off := m.Time.Zone()
			if _, woff := tc.want.Time.Zone(); off != woff {
				t.Errorf("zone offset %d, want %d", off, woff)
			}
		})
	}
	for _, bad := range []string{"", "zz", "00", "0001", "07917283010010F5040BC87238880900F10000993092516195800AFF",
		"07917283010010F5040BC87238880900F10020993092516195800AE8329BFD4697D9EC37", "00440BC87238880900F10000993092516195800A02"} {
		if _, err := DecodeDeliver(bad); !errors.Is(err, ErrPDU) {
			t.Errorf("DecodeDeliver(%q) err = %v, want ErrPDU", bad, err)
		}
	}
}

func TestTextMode(t *testing.T) {
	if err := TextModeBody("gw1: mains lost 17:05"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "a\x1ab", "price $5", "[x]", "Grüße", strings.Repeat("a", 161)} {
		if err := TextModeBody(bad); !errors.Is(err, ErrEncode) {
			t.Errorf("TextModeBody(%q) = %v", bad, err)
		}
	}
	h, _ := at.ParseCMT(`+CMT: "+491701234567","","26/12/04,17:05:09+04"`)
	if m := FromText(h, "secret status"); m.From != "+491701234567" || m.Text != "secret status" || m.Time.Hour() != 17 {
		t.Errorf("FromText = %+v", m)
	}
}

func TestAlert(t *testing.T) {
	when := time.Date(2026, 12, 4, 17, 5, 0, 0, time.UTC)
	if got := Alert("gw1", "mains lost", when); got != "gw1: mains lost 2026-12-04 17:05 UTC" {
		t.Errorf("Alert = %q", got)
	}
	for _, what := range []string{strings.Repeat("route changed to pstn ", 20), strings.Repeat("Сеть пропала ", 10), strings.Repeat("x", 100000)} {
		got := Alert("gw1", what, when)
		parts, err := Submit("+49", got, 1)
		if err != nil || len(parts) != 1 || !strings.HasPrefix(got, "gw1: ") || !strings.HasSuffix(got, ".. 2026-12-04 17:05 UTC") {
			t.Errorf("Alert(long) = %q (%d parts, %v)", got, len(parts), err)
		}
	}
}
