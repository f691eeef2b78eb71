// Command lifeline keeps the telephone working when the internet or the
// mains fails. See README.md for the commands; `lifeline help` lists them.
//
// `lifeline run` wires hal to the daemon in two parts. hardware (hw.go) is
// the board: its GPIO, relay, LEDs, the interfaces load shedding sets down
// and, on the sim board, the simulated signals, provider and modem; it
// lives as long as the process. Everything the configuration turns on is a
// feature (feature.go): the Kamailio adapter (proxy.go), the line and its
// gateway (voice.go), the sim board's signals (simsignals.go), the WAN
// monitor (wan.go), the provider probe (probe.go), power sensing
// (powersense.go) and the keys (keys.go). A feature is one file with a
// featureDef — check (run by start, reload and `lifeline check` alike) and
// new — listed once in features. On every reload each feature's apply
// starts it when its section appeared, restarts it when its section
// changed, keeps it when it did not, and stops it (waiting for its
// goroutines) when its section is gone. A feature that acts on route
// changes or shows the status attaches itself to the daemon while it runs
// (daemon.Daemon.Attach).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"lifeline/boards"
	"lifeline/hal/localtime"
)

// version is stamped at build time: -ldflags "-X main.version=...".
var version = "dev"

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // bad input, failed check, daemon error
	exitUsage = 2
)

// errUsage marks errors that are the caller's command line.
var errUsage = errors.New("usage")

type command struct {
	name, args, help string
	run              func(args []string, stdout, stderr io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"run", "[-c FILE] [--board NAME|auto] [--state-dir DIR] [--socket PATH] [--syslog]", "run the daemon", cmdRun},
		{"status", "[--json] [--socket PATH]", "show the route, power, WAN, line and override", cmdStatus},
		{"override", "auto|sip|pstn [--for DURATION] [--socket PATH]", "force a route (auto clears the override)", cmdOverride},
		{"check", "[-c FILE] [--board NAME] [--no-hardware] [--buttons]", "validate the configuration, the board and its hardware", cmdCheck},
		{"boards", "[--dir DIR]", "list the board definitions: the embedded ones and those of DIR (default " + boards.DefaultDir + ")", cmdBoards},
		{"sim", "SIGNAL VALUE [--socket PATH]", "drive the simulated board: mains on|off, battery PERCENT, wan|provider|line up|down, key NAME press|release, ring NUMBER|stop; a cellular line: cell register|deregister|nosim|sim|unplug|replug, cell pin PIN, cell signal DBM, sms FROM TEXT, sms list", cmdSim},
		{"rpcd", "list | call status|override [--socket PATH]", "the rpcd plugin protocol behind `ubus call lifeline status|override` (arguments of call as JSON on stdin)", cmdRpcd},
		{"version", "", "print the version", cmdVersion},
	}
}

// tzFrom and tzErr say where the local time zone came from when Go's own
// time.Local was not it (OpenWrt's /etc/TZ), for run's log.
var tzFrom, tzErr = "", error(nil)

func main() {
	// Times shown (status, logs on stderr) are the router's, as `date`
	// shows them: on OpenWrt the zone is a POSIX TZ string in /etc/TZ,
	// which Go's time package does not read.
	tzFrom, tzErr = localtime.Setup()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(args[1:], stdout, stderr)
			switch {
			case err == nil:
				return exitOK
			case errors.Is(err, flag.ErrHelp):
				return exitOK
			case errors.Is(err, errUsage):
				fmt.Fprintf(stderr, "lifeline %s: %v\nusage: lifeline %s %s\n", c.name, err, c.name, c.args)
				return exitUsage
			default:
				fmt.Fprintf(stderr, "lifeline %s: %v\n", c.name, err)
				return exitFail
			}
		}
	}
	fmt.Fprintf(stderr, "lifeline: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "lifeline %s: keeps the telephone working when the internet or the mains fails\n\nusage:\n", version)
	for _, c := range commands {
		fmt.Fprintf(w, "  lifeline %-9s %s\n      %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintf(w, "\n`lifeline COMMAND --help` shows a command's options.\n")
}

// newFlags makes a FlagSet for a command whose errors are usage errors.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("lifeline "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, c := range commands {
		if c.name == name {
			fs.Usage = func() {
				fmt.Fprintf(stderr, "usage: lifeline %s %s\n  %s\n", c.name, c.args, c.help)
				fs.PrintDefaults()
			}
		}
	}
	return fs
}

// parse parses flags anywhere among the arguments (`override pstn --for 1h`
// and `override --for 1h pstn` both work) and returns the positionals,
// checking their count.
func parse(fs *flag.FlagSet, args []string, minPos, maxPos int) ([]string, error) {
	var pos []string
	for {
		// A negative number is a value (`sim cell signal -91`), not a flag.
		if len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && strings.Trim(args[0][1:], "0123456789") == "" {
			pos, args = append(pos, args[0]), args[1:]
			continue
		}
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) < minPos || len(pos) > maxPos {
		return nil, fmt.Errorf("%w: wrong number of arguments", errUsage)
	}
	return pos, nil
}

func cmdVersion(args []string, stdout, stderr io.Writer) error {
	if _, err := parse(newFlags("version", stderr), args, 0, 0); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "lifeline %s\n", version)
	return nil
}
