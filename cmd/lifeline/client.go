package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"lifeline/daemon"
)

// devSocket is where `make run` puts the socket; clients try it when the
// system socket is absent, so a checkout works without flags.
const devSocket = "run/lifeline.sock"

func socketFlag(fs *flag.FlagSet) *string {
	return fs.String("socket", "", "control socket (default $LIFELINE_SOCKET, "+daemon.DefaultSocket+", or ./"+devSocket+")")
}

func resolveSocket(flagVal string) string {
	if flagVal != "" {
		return flagVal
	}
	if env := os.Getenv("LIFELINE_SOCKET"); env != "" {
		return env
	}
	if _, err := os.Stat(daemon.DefaultSocket); err != nil {
		if _, err := os.Stat(devSocket); err == nil {
			return devSocket
		}
	}
	return daemon.DefaultSocket
}

func call(socket string, req daemon.Request) (*daemon.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return daemon.Call(ctx, resolveSocket(socket), req)
}

func cmdStatus(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status", stderr)
	asJSON := fs.Bool("json", false, "print the status as JSON")
	sock := socketFlag(fs)
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	st, err := call(*sock, daemon.Request{Cmd: "status"})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(stdout, st, time.Now())
	return nil
}

func cmdOverride(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("override", stderr)
	forD := fs.String("for", "", "expire the override after DURATION (e.g. 10m, 1h)")
	sock := socketFlag(fs)
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if _, err := daemon.ParseMode(pos[0]); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *forD != "" && pos[0] == "auto" {
		return fmt.Errorf("%w: --for makes no sense with auto", errUsage)
	}
	st, err := call(*sock, daemon.Request{Cmd: "override", Mode: pos[0], For: *forD})
	if err != nil {
		return err
	}
	printStatus(stdout, st, time.Now())
	return nil
}

func cmdSim(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sim", stderr)
	sock := socketFlag(fs)
	pos, err := parse(fs, args, 2, 3)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := daemon.Exchange(ctx, resolveSocket(*sock), daemon.Request{Cmd: "sim", Signal: pos[0], Args: pos[1:]})
	if err != nil {
		return err
	}
	if resp.Output != "" {
		// An answer (the sent SMS) is the command's output, alone.
		fmt.Fprint(stdout, resp.Output)
		return nil
	}
	printStatus(stdout, resp.Status, time.Now())
	return nil
}

func printStatus(w io.Writer, st *daemon.Status, now time.Time) {
	if st == nil {
		return
	}
	ago := func(t time.Time) string {
		d := now.Sub(t).Round(time.Second)
		if d < 0 {
			return "in " + (-d).String()
		}
		return d.String() + " ago"
	}
	route := string(st.Route)
	if st.Degraded {
		route += " (DEGRADED)"
	}
	fmt.Fprintf(w, "route     %s since %s (%s)\n", route, st.Since.Local().Format("15:04:05"), ago(st.Since))
	fmt.Fprintf(w, "reason    %s\n", st.Reason)
	ov := string(st.Override.Mode)
	if st.Override.Source != nil {
		ov += " by " + *st.Override.Source
	}
	if st.Override.Until != nil {
		ov += fmt.Sprintf(" until %s (%s)", st.Override.Until.Local().Format("15:04:05"), ago(*st.Override.Until))
	}
	fmt.Fprintf(w, "override  %s\n", ov)
	pw := st.Power.Source
	if st.Power.BatteryPercent != nil {
		pw += fmt.Sprintf(", battery %d%%", *st.Power.BatteryPercent)
	}
	if len(st.Power.Flags) > 0 {
		pw += " [" + strings.Join(st.Power.Flags, " ") + "]"
	}
	if st.Power.OnBatterySeconds != nil {
		pw += fmt.Sprintf(", on battery %s", (time.Duration(*st.Power.OnBatterySeconds) * time.Second).String())
	}
	if st.Power.MinutesLeft != nil {
		pw += fmt.Sprintf(", about %d min left", *st.Power.MinutesLeft)
	}
	if len(st.Power.Shed) > 0 {
		pw += ", shed " + strings.Join(st.Power.Shed, " ")
	}
	fmt.Fprintf(w, "power     %s\n", pw)
	provider := st.WAN.Provider
	if st.WAN.ProviderHost != "" {
		provider = st.WAN.ProviderHost + " " + provider
	}
	wan := fmt.Sprintf("%s link %s, default route %s, provider %s", st.WAN.Interface, st.WAN.Link, yesNo(st.WAN.DefaultRoute), provider)
	if st.WAN.RTTms != nil && st.WAN.Provider == "up" {
		wan += fmt.Sprintf(" (rtt %.1f ms)", *st.WAN.RTTms)
	}
	if st.WAN.ProviderLosses > 0 {
		wan += fmt.Sprintf(", %d probes lost in a row", st.WAN.ProviderLosses)
	}
	fmt.Fprintf(w, "wan       %s\n", wan)
	fmt.Fprintf(w, "line      %s\n", lineSummary(st.Line))
	if !st.Storage.OK {
		fmt.Fprintf(w, "storage   NOT SAVED: %s (%s; retrying)\n", strings.Join(st.Storage.Unsaved, " "), st.Storage.Error)
	}
	for _, c := range st.Calls {
		fmt.Fprintf(w, "call      %s %s, %s (line %s), %s\n", c.Direction, c.Number, c.Codec, c.Format,
			now.Sub(c.Started).Round(time.Second))
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// lineSummary is the status's line on one line: device, profile and
// state; a cellular line adds why, the SIM when it is not ready, the
// registration, operator, technology, signal and VoLTE, e.g.
// "/dev/ttyUSB2 (quectel-ec25) idle: home Lifeline Mobile 4G -73 dBm, VoLTE on".
func lineSummary(l daemon.LineStatus) string {
	s := l.State
	if l.Device != "" {
		s = fmt.Sprintf("%s (%s) %s", l.Device, l.Profile, l.State)
	}
	c := l.CellularStatus
	if c == nil {
		return s
	}
	var parts []string
	if c.SIM != "" && c.SIM != "ready" {
		parts = append(parts, "SIM "+c.SIM)
	}
	for _, v := range []string{c.Registration, c.Operator, c.Technology} {
		if v != "" {
			parts = append(parts, v)
		}
	}
	if c.SignalDBm != nil {
		parts = append(parts, fmt.Sprintf("%d dBm", *c.SignalDBm))
	}
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, " ")
	}
	if c.VoLTE != "" && c.VoLTE != "unknown" {
		s += ", VoLTE " + c.VoLTE
	}
	if l.Reason != "" && l.State != "idle" {
		s += " (" + l.Reason + ")"
	}
	return s
}
