package localtime_test

import (
	"fmt"
	"time"

	"lifeline/hal/localtime"
)

// OpenWrt's /etc/TZ for Europe/Berlin, as a *time.Location.
func ExampleLocation() {
	loc, err := localtime.Location("CET-1CEST,M3.5.0,M10.5.0/3")
	if err != nil {
		panic(err)
	}
	at := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	fmt.Println(at.In(loc).Format("15:04 MST"))
	// Output: 14:00 CEST
}
