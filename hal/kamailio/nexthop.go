package kamailio

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The htable and keys that scripts/kamailio/lifeline.cfg reads.
const (
	Table      = "lifeline"
	KeyRoute   = "route"
	KeyNextHop = "nexthop"

	// The numbers that go out over the line whatever the route: requests
	// whose user part starts with KeyPrefix's value, or equals one of the
	// comma-separated KeyEmergency numbers, are relayed to KeyLine's URI.
	KeyLine      = "line"
	KeyPrefix    = "prefix"
	KeyEmergency = "emergency"

	// The two hops by name, whatever the route: the script sends every
	// out-of-dialog request that is not a call (REGISTER, SUBSCRIBE,
	// MESSAGE, OPTIONS) to KeyProvider's URI, and fails a call over to
	// KeyPSTN's URI when the hop it took did not answer.
	KeyProvider = "provider"
	KeyPSTN     = "pstn"
)

// Hops are the provider's and the PSTN gateway's URIs, stored under
// KeyProvider and KeyPSTN. An empty field is not written (the script's
// defines stand in).
type Hops struct {
	Provider, PSTN string
}

// SetHops stores h's non-empty URIs.
func (c *Client) SetHops(ctx context.Context, h Hops) error {
	for _, kv := range [][2]string{{KeyProvider, h.Provider}, {KeyPSTN, h.PSTN}} {
		if kv[1] == "" {
			continue
		}
		if strings.ContainsAny(kv[1], "\r\n") {
			return fmt.Errorf("kamailio: set %s hop: invalid uri %q", kv[0], kv[1])
		}
		if err := c.SetString(ctx, Table, kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// LineNumbers says which dialled numbers always go out over the line (the
// dial-prefix override and emergency numbers) and where the line's gateway
// is. The zero value routes nothing to the line.
type LineNumbers struct {
	URI       string   // the line gateway's SIP URI; "" disables both
	Prefix    string   // "" for none
	Emergency []string // dial strings without commas
}

// SetLineNumbers stores n under KeyPrefix, KeyEmergency and KeyLine, the
// URI last (the routing script tests it first).
func (c *Client) SetLineNumbers(ctx context.Context, n LineNumbers) error {
	for _, v := range append([]string{n.URI, n.Prefix}, n.Emergency...) {
		if strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("kamailio: set line numbers: invalid value %q", v)
		}
	}
	for _, e := range n.Emergency {
		if e == "" || strings.Contains(e, ",") {
			return fmt.Errorf("kamailio: set line numbers: invalid emergency number %q", e)
		}
	}
	if err := c.SetString(ctx, Table, KeyPrefix, n.Prefix); err != nil {
		return err
	}
	if err := c.SetString(ctx, Table, KeyEmergency, strings.Join(n.Emergency, ",")); err != nil {
		return err
	}
	return c.SetString(ctx, Table, KeyLine, n.URI)
}

// SetNextHop stores uri under KeyNextHop and route under KeyRoute in Table,
// the next hop first: the routing script prefers nexthop, so the next
// INVITE after this returns goes to uri. An empty uri deletes nothing and
// is rejected; route is stored as given.
func (c *Client) SetNextHop(ctx context.Context, route, uri string) error {
	if uri == "" || strings.ContainsAny(uri, "\r\n") {
		return fmt.Errorf("kamailio: set next hop %q: invalid uri", uri)
	}
	if err := c.SetString(ctx, Table, KeyNextHop, uri); err != nil {
		return err
	}
	return c.SetString(ctx, Table, KeyRoute, route)
}

// SetString stores a string value: htable.sets TABLE KEY VALUE.
func (c *Client) SetString(ctx context.Context, table, key, value string) error {
	_, err := c.Call(ctx, "htable.sets", table, key, value)
	return err
}

// Get returns the value of key in table (htable.get). A missing key — as
// after a Kamailio restart — returns an error wrapping ErrNotFound.
func (c *Client) Get(ctx context.Context, table, key string) (string, error) {
	raw, err := c.Call(ctx, "htable.get", table, key)
	if err != nil {
		return "", err
	}
	value, err := decodeItem(raw)
	if err != nil || value == nil {
		return "", fmt.Errorf("htable.get %s %s on %s: %w: %s", table, key, c.remote.Name, ErrProtocol, raw)
	}
	if s, ok := decodeString(value); ok {
		return s, nil
	}
	// Integer values come back as JSON numbers.
	return string(value), nil
}

// NextHop returns the stored next hop and route.
func (c *Client) NextHop(ctx context.Context) (route, uri string, err error) {
	if uri, err = c.Get(ctx, Table, KeyNextHop); err != nil {
		return "", "", err
	}
	if route, err = c.Get(ctx, Table, KeyRoute); err != nil {
		return "", "", err
	}
	return route, uri, nil
}

// Uptime is the reply of core.uptime.
type Uptime struct {
	Now     string        `json:"now"`
	UpSince string        `json:"up_since"`
	Uptime  time.Duration `json:"-"`
}

// Uptime asks Kamailio how long it has been running (core.uptime). UpSince
// changes when Kamailio restarts.
func (c *Client) Uptime(ctx context.Context) (Uptime, error) {
	raw, err := c.Call(ctx, "core.uptime")
	if err != nil {
		return Uptime{}, err
	}
	u, secs, err := decodeUptime(raw)
	if err != nil {
		return Uptime{}, fmt.Errorf("core.uptime on %s: %w: %v", c.remote.Name, ErrProtocol, err)
	}
	u.Uptime = time.Duration(secs * float64(time.Second))
	return u, nil
}
