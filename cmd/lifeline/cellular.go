package main

import (
	"fmt"

	"lifeline/daemon"
	"lifeline/hal/cellular/profiles"
)

// checkCellularLine validates a line section with a cellular profile
// beyond what daemon.ParseConfig checks: the profile loads, and the AT
// port's serial settings are valid.
func checkCellularLine(c *daemon.Config) error {
	l := c.Line
	if _, err := profiles.Load(l.Profile); err != nil {
		return fmt.Errorf("%w: %s: line '%s' option 'profile': %v", daemon.ErrConfig, c.Source, l.Name, err)
	}
	if _, err := lineModeOf(l); err != nil {
		return fmt.Errorf("%w: %s: line '%s': %v", daemon.ErrConfig, c.Source, l.Name, err)
	}
	return nil
}
