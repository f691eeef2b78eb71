package power

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Supply is one entry of the kernel's power-supply class
// (/sys/class/power_supply/NAME), as far as Lifeline reads it.
type Supply struct {
	Name string
	// Type is the kernel's type: "Mains", "USB", "Battery", "UPS", ...
	Type string
	// Online is 1 when an external supply delivers power, 0 when not, -1
	// when the file is missing or unreadable.
	Online int
	// Present is 0 when a battery is reported absent, else 1 (or -1).
	Present int
	// Capacity is the battery's charge in percent, -1 if unknown.
	Capacity int
	// CapacityLevel is "Critical", "Low", "Normal", "High", "Full" or "".
	CapacityLevel string
	// Status is "Charging", "Discharging", "Not charging", "Full",
	// "Unknown" or "".
	Status string
}

// External reports whether the supply feeds the device from outside
// (Mains, USB and its variants, Wireless).
func (s Supply) External() bool {
	t := s.Type
	return t == "Mains" || t == "Wireless" || strings.HasPrefix(t, "USB")
}

// IsBattery reports whether the supply is a present battery.
func (s Supply) IsBattery() bool { return s.Type == "Battery" && s.Present != 0 }

// ErrSupplyDir is wrapped by ReadSupplies when the class directory exists
// but cannot be read.
var ErrSupplyDir = errors.New("power-supply class unreadable")

// supplyFiles are the attribute files ReadSupplies reads.
var supplyFiles = []string{"type", "online", "present", "capacity", "capacity_level", "status"}

// ReadSupplies reads every supply under dir (the power_supply class
// directory), sorted by name. A missing dir means no supplies, not an error;
// a supply that vanishes while it is read is left out.
func ReadSupplies(dir string) ([]Supply, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSupplyDir, dir, err)
	}
	var out []Supply
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		files := make(map[string]string, len(supplyFiles))
		for _, f := range supplyFiles {
			b, err := os.ReadFile(filepath.Join(p, f))
			if err == nil {
				files[f] = string(b)
			}
		}
		if _, ok := files["type"]; !ok {
			continue // vanished, or not a supply
		}
		out = append(out, ParseSupply(e.Name(), files))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ParseSupply builds a Supply from the raw contents of its attribute files
// (name → content, trailing newline allowed). Missing or malformed values
// read as unknown. It never fails: sysfs is trusted to be mostly right and
// an odd value must not stop the daemon.
func ParseSupply(name string, files map[string]string) Supply {
	s := Supply{
		Name:          name,
		Type:          clean(files["type"]),
		Online:        parseInt(files, "online", 0, 1),
		Present:       parseInt(files, "present", 0, 1),
		Capacity:      parseInt(files, "capacity", 0, 100),
		CapacityLevel: clean(files["capacity_level"]),
		Status:        clean(files["status"]),
	}
	// Some drivers report online values above 1 (USB types); only 0 is off.
	if v, err := strconv.Atoi(clean(files["online"])); err == nil && v > 1 {
		s.Online = 1
	}
	return s
}

// clean trims whitespace and drops anything unprintable or absurdly long.
func clean(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 64 {
		return ""
	}
	for _, r := range v {
		if r < 0x20 || r > 0x7e {
			return ""
		}
	}
	return v
}

// parseInt returns the integer in files[key] if it lies in [lo, hi], else -1.
func parseInt(files map[string]string, key string, lo, hi int) int {
	raw, ok := files[key]
	if !ok {
		return -1
	}
	v, err := strconv.Atoi(clean(raw))
	if err != nil || v < lo || v > hi {
		return -1
	}
	return v
}
