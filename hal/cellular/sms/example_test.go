package sms_test

import (
	"fmt"
	"time"

	"lifeline/hal/cellular/sms"
)

func ExampleSubmit() {
	text := sms.Alert("gw1", "mains lost", time.Date(2026, 12, 4, 17, 5, 0, 0, time.UTC))
	parts, _ := sms.Submit("+491701234567", text, 1)
	fmt.Println(text)
	fmt.Println(len(parts), parts[0].TPDULen)
	// Output:
	// gw1: mains lost 2026-12-04 17:05 UTC
	// 1 46
}

func ExampleDecodeDeliver() {
	m, _ := sms.DecodeDeliver("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37")
	fmt.Println(m.From, m.Text, m.Time.Format(time.RFC3339))
	// Output: 27838890001 hellohello 1999-03-29T15:16:59+02:00
}
