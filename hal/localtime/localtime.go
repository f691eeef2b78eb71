// Package localtime finds the router's time zone where Go's time package
// does not look: OpenWrt keeps it as a POSIX TZ string in /etc/TZ (from
// uci's system.timezone) and ships no zoneinfo files by default, so Go's
// time.Local is UTC there and every time shown would differ from what the
// router's `date` shows.
package localtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// System returns the location the C library would use, when Go's own
// time.Local would be wrong, and where it came from; nil when Go already
// gets it right (a zoneinfo name or file it can load). The order is the C
// library's: the TZ environment variable (env, set says whether it is set
// at all), then /etc/localtime, then /etc/TZ (uClibc and musl on OpenWrt).
// root prefixes the files (tests); "" is "/".
func System(env string, set bool, root string) (*time.Location, string, error) {
	if set && env != "" {
		if strings.HasPrefix(env, ":") || strings.HasPrefix(env, "/") {
			return nil, "", nil // a file or zone name: Go's own business
		}
		if _, err := time.LoadLocation(env); err == nil {
			return nil, "", nil
		}
		loc, err := Location(env)
		if err != nil {
			return nil, "", fmt.Errorf("TZ environment variable: %w", err)
		}
		return loc, "TZ environment variable", nil
	}
	if set {
		return nil, "", nil // TZ="": UTC, as Go does
	}
	if _, err := os.Stat(filepath.Join(root, "/etc/localtime")); err == nil {
		return nil, "", nil
	}
	file := filepath.Join(root, "/etc/TZ")
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "", nil // nothing configured: UTC
	}
	tz := strings.TrimSpace(string(data))
	if tz == "" {
		return nil, "", nil
	}
	loc, err := Location(tz)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", file, err)
	}
	return loc, file, nil
}

// Setup sets time.Local from System for this process, before any
// goroutine reads it. It returns where the zone came from ("" when Go's
// own choice stands) or why /etc/TZ could not be used (time.Local is left
// alone then).
func Setup() (string, error) {
	env, set := os.LookupEnv("TZ")
	loc, from, err := System(env, set, "")
	if err != nil || loc == nil {
		return "", err
	}
	time.Local = loc
	return from, nil
}
