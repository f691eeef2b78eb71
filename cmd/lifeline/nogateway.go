//go:build !gateway

package main

import (
	"context"
	"fmt"

	"lifeline/boards"
	"lifeline/daemon"
)

// gatewaySlot is empty without the gateway.
type gatewaySlot struct{}

// checkGateway refuses a gateway section: this build cannot serve it.
func checkGateway(c *daemon.Config, _ *boards.Board) error {
	if g := c.Gateway; g != nil {
		return fmt.Errorf("%w: %s:%d: gateway '%s': this lifeline was built without the gateway: build with -tags gateway",
			daemon.ErrConfig, c.Source, g.Line, g.Name)
	}
	return nil
}

// prepareGateway refuses a gateway section at run (and reload).
func (hw *hardware) prepareGateway(cfg *daemon.Config) (*preparedGateway, error) {
	return nil, checkGateway(cfg, hw.board)
}

// startGateway: prepareGateway refused any gateway.
func (hw *hardware) startGateway(context.Context, *daemon.Config, *preparedGateway) error { return nil }

// gatewayCalls: no gateway, no calls.
func (hw *hardware) gatewayCalls() []daemon.CallStatus { return nil }
