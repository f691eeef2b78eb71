package sip

import (
	rand "math/rand/v2"
)

// BranchCookie starts every RFC 3261 branch (§8.1.1.7).
const BranchCookie = "z9hG4bK"

// RandomToken returns n random characters of [0-9a-z]. math/rand/v2's
// global generator is ChaCha8 seeded from the kernel's entropy,
// unpredictable enough for the branch, tag and Call-ID RFC 3261 asks to
// be random; crypto/rand would pull its FIPS module, math/big and about
// 140 KB into a router's flash.
func RandomToken(n int) string {
	const chars = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[rand.IntN(len(chars))]
	}
	return string(b)
}

// NewBranch is a branch for a new client transaction: the cookie and 16
// random characters.
func NewBranch() string { return BranchCookie + RandomToken(16) }

// NewTag is a From or To tag: 16 random characters (80 bits).
func NewTag() string { return RandomToken(16) }

// NewCallID is a Call-ID: 24 random characters, @host.
func NewCallID(host string) string { return RandomToken(24) + "@" + host }
