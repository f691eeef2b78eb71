package localtime

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

// Each zone at instants on both sides of its transitions, through the
// *time.Location that Location builds.
func TestLocationTransitions(t *testing.T) {
	cases := []struct {
		tz   string
		at   string // UTC
		name string
		off  int // seconds east
	}{
		// Central Europe: summer time from the last Sunday of March 02:00 CET
		// (01:00 UTC) to the last Sunday of October 03:00 CEST (01:00 UTC).
		{"CET-1CEST,M3.5.0,M10.5.0/3", "2026-03-29 00:59:59", "CET", 3600},
		{"CET-1CEST,M3.5.0,M10.5.0/3", "2026-03-29 01:00:00", "CEST", 7200},
		{"CET-1CEST,M3.5.0,M10.5.0/3", "2026-10-25 00:59:59", "CEST", 7200},
		{"CET-1CEST,M3.5.0,M10.5.0/3", "2026-10-25 01:00:00", "CET", 3600},
		{"CET-1CEST,M3.5.0,M10.5.0/3", "2026-12-04 15:30:00", "CET", 3600},
		// New York: the default US rules when none are given.
		{"EST5EDT", "2026-03-08 06:59:59", "EST", -5 * 3600},
		{"EST5EDT", "2026-03-08 07:00:00", "EDT", -4 * 3600},
		{"EST5EDT,M3.2.0,M11.1.0", "2026-11-01 05:59:59", "EDT", -4 * 3600},
		{"EST5EDT,M3.2.0,M11.1.0", "2026-11-01 06:00:00", "EST", -5 * 3600},
		// Sydney: summer time across the new year.
		{"AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-01-15 00:00:00", "AEDT", 11 * 3600},
		{"AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-04-04 15:59:59", "AEDT", 11 * 3600},
		{"AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-04-04 16:00:00", "AEST", 10 * 3600},
		{"AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-10-03 16:00:00", "AEDT", 11 * 3600},
		// Quoted numeric abbreviations, minutes, no summer time.
		{"<+0530>-5:30", "2026-06-01 00:00:00", "+0530", 5*3600 + 1800},
		{"<-03>3", "2026-06-01 00:00:00", "-03", -3 * 3600},
		{"UTC0", "2026-06-01 00:00:00", "UTC", 0},
		// Julian days (no 29 February) and zero-based days.
		{"AAA3BBB,J60/0,J300/0", "2024-03-01 02:59:59", "AAA", -3 * 3600},
		{"AAA3BBB,J60/0,J300/0", "2024-03-01 03:00:00", "BBB", -2 * 3600},
		{"AAA3BBB,59/0,299/0", "2024-02-29 02:59:59", "AAA", -3 * 3600},
		{"AAA3BBB,59/0,299/0", "2024-02-29 03:00:00", "BBB", -2 * 3600},
		// Ireland's negative summer time, and a time past midnight.
		{"IST-1GMT0,M10.5.0,M3.5.0/1", "2026-07-01 00:00:00", "IST", 3600},
		{"IST-1GMT0,M10.5.0,M3.5.0/1", "2026-12-01 00:00:00", "GMT", 0},
		{"<-02>2<-01>,M3.5.0/-1,M10.5.0/25", "2026-07-01 00:00:00", "-01", -3600},
	}
	for _, tc := range cases {
		t.Run(tc.tz+"@"+tc.at, func(t *testing.T) {
			loc, err := Location(tc.tz)
			if err != nil {
				t.Fatal(err)
			}
			at := utc(tc.at)
			name, off := at.In(loc).Zone()
			if name != tc.name || off != tc.off {
				t.Errorf("Location: %s, %d; want %s, %d", name, off, tc.name, tc.off)
			}
			r, _ := ParsePOSIX(tc.tz)
			if name, off, _ := r.At(at); name != tc.name || off != tc.off {
				t.Errorf("Rule.At: %s, %d; want %s, %d", name, off, tc.name, tc.off)
			}
		})
	}
}

// The rule agrees with the zoneinfo file of the same zone (Debian's
// tzdata) at every hour of three years, when the file is there.
func TestAgainstZoneinfo(t *testing.T) {
	for _, z := range []struct{ tz, name string }{
		{"CET-1CEST,M3.5.0,M10.5.0/3", "Europe/Berlin"},
		{"EST5EDT,M3.2.0,M11.1.0", "America/New_York"},
		{"AEST-10AEDT,M10.1.0,M4.1.0/3", "Australia/Sydney"},
	} {
		ref, err := time.LoadLocation(z.name)
		if err != nil {
			t.Skipf("no zoneinfo for %s (tzdata): %v", z.name, err)
		}
		loc, err := Location(z.tz)
		if err != nil {
			t.Fatal(err)
		}
		for at := utc("2025-01-01 00:00:00"); at.Year() < 2028; at = at.Add(time.Hour) {
			wn, wo := at.In(ref).Zone()
			gn, gofs := at.In(loc).Zone()
			if wn != gn || wo != gofs {
				t.Fatalf("%s at %s: %s %d, zoneinfo %s %d", z.tz, at, gn, gofs, wn, wo)
			}
		}
	}
}

func TestParsePOSIXErrors(t *testing.T) {
	for _, tc := range []struct{ tz, want string }{
		{"", "abbreviation"},
		{"CE-1", "three or more letters"},
		{"CET", "want a number"},
		{"CET-25", "hours out of range"},
		{"CET-1:60", "out of range"},
		{"<AB>1", "<AB>"},
		{"<CET-1", "unterminated"},
		{"CET-1CEST,M3.5", "'.' before the weekday"},
		{"CET-1CEST,M13.1.0,M10.5.0", "month out of range"},
		{"CET-1CEST,M3.6.0,M10.5.0", "week out of range"},
		{"CET-1CEST,M3.5.0", "',' between"},
		{"CET-1CEST,J0,J300", "Julian day out of range"},
		{"CET-1CEST,M3.5.0,M10.5.0/168", "hours out of range"},
		{"CET-1CEST,M3.5.0,M10.5.0x", "unexpected \"x\""},
		{"CET-1CEST:", "want a number (hours)"},
		{"CET-1CEST;M3.5.0,M10.5.0", "want a number"}, // tzcode takes ';', Go does not
	} {
		_, err := ParsePOSIX(tc.tz)
		if !errors.Is(err, ErrTZ) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.tz, err, tc.want)
		}
	}
}

func TestSystem(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	write := func(s string) { os.WriteFile(filepath.Join(root, "etc/TZ"), []byte(s), 0o644) }

	// OpenWrt: no /etc/localtime, /etc/TZ written from uci.
	write("CET-1CEST,M3.5.0,M10.5.0/3\n")
	loc, from, err := System("", false, root)
	if err != nil || loc == nil || from != filepath.Join(root, "/etc/TZ") {
		t.Fatalf("System = %v, %q, %v", loc, from, err)
	}
	if n, off := utc("2026-07-01 12:00:00").In(loc).Zone(); n != "CEST" || off != 7200 {
		t.Fatalf("summer in /etc/TZ's zone: %s %d", n, off)
	}
	// TZ in the environment wins, as in the C library.
	loc, from, err = System("<+03>-3", true, root)
	if err != nil || from != "TZ environment variable" || loc == nil {
		t.Fatalf("env: %v %q %v", loc, from, err)
	}
	// A zone Go loads itself, TZ="" and /etc/localtime leave Go's choice.
	if _, err := time.LoadLocation("Europe/Berlin"); err == nil {
		if loc, _, err := System("Europe/Berlin", true, root); loc != nil || err != nil {
			t.Fatalf("zoneinfo name: %v %v", loc, err)
		}
	}
	if loc, _, err := System("", true, root); loc != nil || err != nil {
		t.Fatalf("TZ empty: %v %v", loc, err)
	}
	os.WriteFile(filepath.Join(root, "etc/localtime"), []byte("TZif"), 0o644)
	if loc, _, err := System("", false, root); loc != nil || err != nil {
		t.Fatalf("with /etc/localtime: %v %v", loc, err)
	}
	os.Remove(filepath.Join(root, "etc/localtime"))
	// A bad /etc/TZ is an error naming the file.
	write("nonsense")
	if _, _, err := System("", false, root); err == nil || !strings.Contains(err.Error(), "etc/TZ") {
		t.Fatalf("bad /etc/TZ: %v", err)
	}
	os.Remove(filepath.Join(root, "etc/TZ"))
	if loc, _, err := System("", false, root); loc != nil || err != nil {
		t.Fatalf("nothing configured: %v %v", loc, err)
	}
}
