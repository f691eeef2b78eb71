package remote

import (
	"sync"
	"time"

	"lifeline/hal/clock"
)

// Limiter is a token bucket per key (a sender's number, or "" for a
// global budget): Burst events at once, then one per Every. It forgets
// the least recently used key beyond MaxKeys, so random senders cannot
// grow it. Safe for concurrent use (one mutex); it starts no goroutine.
type Limiter struct {
	clk   clock.Clock
	burst float64
	every time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket // guarded by mu
}

type bucket struct {
	tokens float64
	last   time.Time
}

// MaxKeys bounds the keys a Limiter remembers.
const MaxKeys = 64

// NewLimiter returns a limiter allowing burst events, refilled one per
// every, on clk.
func NewLimiter(clk clock.Clock, burst int, every time.Duration) *Limiter {
	return &Limiter{clk: clk, burst: float64(max(burst, 1)), every: every, buckets: map[string]*bucket{}}
}

// Allow takes a token for key and reports whether there was one.
func (l *Limiter) Allow(key string) bool {
	now := l.clk.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= MaxKeys {
			l.evict()
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens, b.last = l.refilled(b, now), now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// evict drops the least recently used key; mu is held.
func (l *Limiter) evict() {
	var oldest string
	var t time.Time
	first := true
	for k, b := range l.buckets {
		if first || b.last.Before(t) {
			oldest, t, first = k, b.last, false
		}
	}
	delete(l.buckets, oldest)
}

// Ready reports whether Allow(key) would succeed now, without taking a
// token: a caller can refuse everything from a key whose budget for
// failures is spent, and spend it only on failures.
func (l *Limiter) Ready(key string) bool {
	now := l.clk.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return true
	}
	return l.refilled(b, now) >= 1
}

// refilled is b's tokens at now.
func (l *Limiter) refilled(b *bucket, now time.Time) float64 {
	if l.every > 0 && now.After(b.last) {
		return min(l.burst, b.tokens+float64(now.Sub(b.last))/float64(l.every))
	}
	return b.tokens
}
