package power_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"lifeline/hal/clock"
	"lifeline/hal/power"
)

// Reading the kernel's power-supply class; the directory is normally
// /sys/class/power_supply.
func Example() {
	dir, _ := os.MkdirTemp("", "power_supply")
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "BAT0"), 0o755)
	os.WriteFile(filepath.Join(dir, "BAT0", "type"), []byte("Battery\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "BAT0", "capacity"), []byte("57\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "BAT0", "status"), []byte("Discharging\n"), 0o644)

	clk := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	m, err := power.New(clk, power.Config{SupplyDir: dir, PollInterval: 10 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	s, _ := m.Refresh(context.Background())
	fmt.Printf("%s %d%% low=%v\n", s.Source, s.Percent, s.Low)
	// Output: battery 57% low=false
}
