package at

import "testing"

func BenchmarkParseCallEvent(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := ParseCallEvent(`+QIND: "ccinfo",1,1,4,0,0,"+4930123",145`); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkParseRegistration(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRegistration(`+CEREG: 2,1,"D509","80D413D",7`); err != nil {
			b.Fatal(err)
		}
	}
}
