package boards

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEmbeddedBoardsParse(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]*Board{}
	for _, b := range all {
		names[b.Name] = b
	}
	for _, want := range []string{"sim", "generic", "qemu-gpiosim"} {
		if names[want] == nil {
			t.Errorf("board %q missing (have %v)", want, Names())
		}
	}
	sim := names["sim"]
	var keys []string
	for _, k := range sim.Keys {
		keys = append(keys, k.Name)
	}
	if strings.Join(keys, ",") != "wps,reset,phone" || sim.Driver != "sim" {
		t.Errorf("sim board = %+v", sim)
	}
	q := names["qemu-gpiosim"]
	if q.GPIO["mains"].Line != "lifeline-mains" || q.Relay == nil || !q.GPIO["battery_low"].ActiveLow {
		t.Errorf("qemu-gpiosim = %+v", q)
	}
}

func TestGetUnknown(t *testing.T) {
	_, err := Get("nope")
	if !errors.Is(err, ErrUnknownBoard) || !strings.Contains(err.Error(), "sim") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"no board", "config gpio 'mains'\n\toption line 'x'\n", "no named 'board' section"},
		{"bad driver", "config board 'x'\n\toption driver 'foo'\n", "b:1: board 'x' option 'driver'"},
		{"bad role", "config board 'x'\n\toption driver 'sim'\nconfig gpio 'fridge'\n\toption line 'a'\n", "b:3: gpio 'fridge': unknown gpio role"},
		{"no line", "config board 'x'\n\toption driver 'sim'\nconfig gpio 'mains'\n\toption chip 'gpiochip0'\n", "needs 'line'"},
		{"both", "config board 'x'\n\toption driver 'sim'\nconfig gpio 'mains'\n\toption line 'a'\n\toption chip 'c'\n\toption offset '3'\n", "not both"},
		{"unknown option", "config board 'x'\n\toption driver 'sim'\n\toption colour 'red'\n", "b:3: board 'x' option 'colour': unknown option"},
		{"bad offset", "config board 'x'\n\toption driver 'sim'\nconfig relay\n\toption chip 'c'\n\toption offset 'x'\n", "b:5"},
		{"bad debounce", "config board 'x'\n\toption driver 'sim'\nconfig gpio 'mains'\n\toption line 'a'\n\toption debounce '5s'\n", "option 'debounce'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("b", []byte(tc.src))
			if !errors.Is(err, ErrBoard) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name, boardName, compatible, want string
	}{
		{"nothing: generic", "", "", "generic"},
		{"board_name", "lifeline,sim", "", "sim"},
		{"compatible list", "", "vendor,other\x00lifeline,qemu-gpiosim\x00", "qemu-gpiosim"},
		{"unknown board", "tplink,archer-c7-v5", "", "generic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.boardName != "" {
				os.MkdirAll(filepath.Join(root, "tmp/sysinfo"), 0o755)
				os.WriteFile(filepath.Join(root, "tmp/sysinfo/board_name"), []byte(tc.boardName+"\n"), 0o644)
			}
			if tc.compatible != "" {
				os.MkdirAll(filepath.Join(root, "proc/device-tree"), 0o755)
				os.WriteFile(filepath.Join(root, "proc/device-tree/compatible"), []byte(tc.compatible), 0o644)
			}
			b, _, err := Detect(root)
			if err != nil || b.Name != tc.want {
				t.Fatalf("Detect = %v, %v; want %s", b, err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range Names() {
		data, _ := defs.ReadFile("defs/" + n + ".board")
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		if b.Name == "" {
			t.Fatal("board without a name accepted")
		}
		seen := map[string]bool{}
		for _, k := range b.Keys {
			if seen[k.Name] {
				t.Fatalf("key %q twice", k.Name)
			}
			seen[k.Name] = true
		}
	})
}

// The generic board takes OpenWrt's own button names as keys, each read
// from the uevents with that BUTTON= name.
func TestGenericHasOpenWrtButtons(t *testing.T) {
	b, err := Get("generic")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Key{}
	for _, k := range b.Keys {
		got[k.Name] = k
	}
	for _, n := range []string{"wps", "reset", "phone", "rfkill", "BTN_0", "wlan"} {
		if k, ok := got[n]; !ok || k.Source != "button" || k.Button != n {
			t.Errorf("generic key %q = %+v, %v; want source button, BUTTON=%s", n, k, ok, n)
		}
	}
}

// Board files in a directory on the router: listed, found by name and by
// detection, preferred to an embedded file of the same name; a bad one is
// an error naming its file and line.
func TestBoardsDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("my-router.board", "config board 'my-router'\n\toption driver 'linux'\n\tlist match 'vendor,my-router'\n"+
		"config gpio 'mains'\n\toption chip 'gpiochip0'\n\toption offset '17'\n"+
		"config key 'phone'\n\toption source 'button'\n\toption button 'BTN_0'\n")
	write("README", "not a board")
	if n := NamesIn(dir); !slicesContains(n, "my-router") || !slicesContains(n, "sim") || slicesContains(n, "README") {
		t.Fatalf("NamesIn = %v", n)
	}
	b, err := GetIn(dir, "my-router")
	if err != nil || b.GPIO["mains"].Offset != 17 || len(b.Keys) != 1 || b.Keys[0].Button != "BTN_0" {
		t.Fatalf("GetIn = %+v, %v", b, err)
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "tmp/sysinfo"), 0o755)
	os.WriteFile(filepath.Join(root, "tmp/sysinfo/board_name"), []byte("vendor,my-router\n"), 0o644)
	if b, id, err := DetectIn(root, dir); err != nil || b.Name != "my-router" || id != "vendor,my-router" {
		t.Fatalf("DetectIn = %v %q %v", b, id, err)
	}
	if b, _, err := Detect(root); err != nil || b.Name != "generic" {
		t.Fatalf("Detect without the dir = %v %v", b, err)
	}
	// A router's own generic.board wins over the embedded one.
	write("generic.board", "config board 'generic'\n\toption driver 'linux'\n\toption description 'mine'\n")
	if b, err := GetIn(dir, "generic"); err != nil || b.Description != "mine" {
		t.Fatalf("override = %+v, %v", b, err)
	}
	write("bad.board", "config board 'bad'\n\toption driver 'linux'\nconfig key 'x'\n\toption source 'smoke'\n")
	if _, err := GetIn(dir, "bad"); !errors.Is(err, ErrBoard) || !strings.Contains(err.Error(), filepath.Join(dir, "bad.board")+":3:") {
		t.Fatalf("bad board file: %v", err)
	}
	write("misnamed.board", "config board 'other'\n\toption driver 'linux'\n")
	if _, err := GetIn(dir, "misnamed"); !errors.Is(err, ErrBoard) || !strings.Contains(err.Error(), `want "misnamed"`) {
		t.Fatalf("misnamed board file: %v", err)
	}
	if _, err := GetIn(filepath.Join(dir, "missing"), "sim"); err != nil {
		t.Fatalf("missing dir: %v", err)
	}
}

func slicesContains(list []string, s string) bool { return contains(list, s) }

// Every router's board file is derived from OpenWrt's device tree and says
// which: a comment names target/linux/.../*.dts, and the board matches the
// device tree's compatible string (what /tmp/sysinfo/board_name holds).
func TestRouterBoardsCiteTheirDeviceTree(t *testing.T) {
	routers := 0
	for _, n := range Names() {
		if n == "generic" || n == "sim" || n == "qemu-gpiosim" {
			continue
		}
		routers++
		data, err := defs.ReadFile("defs/" + n + ".board")
		if err != nil {
			t.Fatal(err)
		}
		b, err := Get(n)
		if err != nil {
			t.Fatal(err)
		}
		src := string(data)
		if !strings.Contains(src, "target/linux/") || !strings.Contains(src, ".dts") {
			t.Errorf("%s: does not cite its OpenWrt device tree", n)
		}
		if len(b.Match) == 0 || !strings.Contains(src, `"`+b.Match[0]+`"`) {
			t.Errorf("%s: match %v is not the compatible string the comment quotes", n, b.Match)
		}
		if len(b.Keys) == 0 || len(b.LEDs) == 0 {
			t.Errorf("%s: no keys or no LEDs: %+v", n, b)
		}
		for _, k := range b.Keys {
			if k.Source != "button" || k.Button == "" {
				t.Errorf("%s: key %+v is not a gpio-button-hotplug button", n, k)
			}
		}
	}
	if routers < 5 {
		t.Errorf("%d router boards, want at least five", routers)
	}
}
