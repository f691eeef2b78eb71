package daemon

import (
	"os"
	"path/filepath"
	"strings"

	"lifeline/daemon/powerpolicy"
)

// ShedFile lists the interfaces Lifeline took down, one per line, so a
// restart on mains still restores them.
const ShedFile = "shed"

// LoadShed returns the persisted shed interfaces; a missing file is none.
func (d *StateDir) LoadShed() ([]string, error) {
	data, err := readIfExists(d, ShedFile)
	if err != nil || data == nil {
		return nil, err
	}
	return powerpolicy.DecodeShed(filepath.Join(d.Path, ShedFile), data)
}

// applyPower runs one event through the power policy and carries out its
// actions: shedding and restoring synchronously (one netlink request each),
// feeding each result back; hooks, persistence and shutdown as asked. Then
// the route machine learns whether the router is on battery.
func (d *Daemon) applyPower(ev powerpolicy.Event) {
	now := d.clk.Now()
	acts := d.pw.Handle(ev, now)
	for len(acts) > 0 {
		a := acts[0]
		acts = acts[1:]
		switch a.Kind {
		case powerpolicy.Shed, powerpolicy.Restore:
			fb, _ := powerpolicy.Carry(a, d.opts.Shedder)
			if fb.Err != nil {
				d.log.Warn("load shedding", "action", a.String(), "err", fb.Err)
			} else {
				d.log.Info("load shedding", "action", a.String())
			}
			acts = append(acts, d.pw.Handle(fb, now)...)
		case powerpolicy.Announce:
			d.log.Info("power event", "event", a.Event, "reason", a.Reason)
			d.event(d.hookEvent(a.Event, d.rs.Route, a.Reason))
		case powerpolicy.SaveShed:
			d.save(d.dir, ShedFile, powerpolicy.EncodeShed(a.Interfaces))
		case powerpolicy.RunShutdownHooks:
			d.log.Warn("forced shutdown", "reason", a.Reason)
			d.event(d.hookEvent("shutdown", d.rs.Route, a.Reason))
		case powerpolicy.RunShutdownCommand:
			d.runShutdown()
		case powerpolicy.Warn:
			d.log.Warn("power policy", "reason", a.Reason, "err", a.Err)
		}
	}
	if d.pw.State.OnBattery != d.rs.OnBattery {
		d.apply(PowerChanged{OnBattery: d.pw.State.OnBattery})
	} else {
		d.writeStatus()
	}
}

// runShutdown starts the configured shutdown command, split into words and
// run without a shell. Run waits for it before returning.
func (d *Daemon) runShutdown() {
	argv := strings.Fields(d.cfg.Battery.ShutdownCommand)
	if len(argv) == 0 {
		d.log.Error("battery critical but no shutdown_command configured")
		return
	}
	if d.opts.DryRunShutdown {
		d.log.Warn("shutdown command not run on a simulated board", "command", argv)
		return
	}
	d.log.Warn("running shutdown command", "command", argv)
	path, err := lookPath(argv[0])
	var proc *os.Process
	if err == nil {
		proc, err = startProcess(path, argv, "", baseEnv(), nil, false)
	}
	if err != nil {
		d.log.Error("shutdown command failed to start", "command", argv, "err", err)
		return
	}
	d.cmds.Add(1)
	go func() {
		defer d.cmds.Done()
		if err := waitProcess(proc); err != nil {
			d.log.Error("shutdown command failed", "command", argv, "err", err)
		}
	}()
}
