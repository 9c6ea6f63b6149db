// Package gctune sets up the Go garbage collector of a sluice process.
//
// A sluice stage keeps little alive (a poll's records, client buffers) and
// allocates a lot per record: decoded events, mapped objects, encoded
// outputs. With Go's default GOGC of 100 the heap is collected every time
// it doubles its small live size, and the collector takes about a fifth of
// the transform stage's CPU. sluice therefore runs with GOGC=400 unless
// GOGC is set, and with a soft memory limit of 90% of the container's
// (cgroup) memory limit unless GOMEMLIMIT is set, so that the larger heap
// target gives way, and the collector works harder, before the container
// would be killed for memory.
package gctune

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// DefaultGCPercent is the GOGC of a sluice process whose environment does
// not set GOGC.
const DefaultGCPercent = 400

// memoryRatio is the share of the container's memory limit given to the
// Go runtime as its soft limit; the rest is for what the runtime does not
// count (thread stacks, cgo, the page cache of the process's files).
const memoryRatio = 0.9

// Settings is what the collector runs with after Apply.
type Settings struct {
	// GCPercent is the GOGC in effect.
	GCPercent int
	// GCPercentFromEnv reports that GOGC came from the environment.
	GCPercentFromEnv bool
	// MemoryLimit is the soft memory limit in bytes; math.MaxInt64 is
	// none.
	MemoryLimit int64
}

// Apply sets GOGC to DefaultGCPercent unless the environment sets GOGC,
// and the soft memory limit from the cgroup memory limit unless the
// environment sets GOMEMLIMIT (or AUTOMEMLIMIT=off). A process without a
// cgroup limit keeps no soft limit. The error says the limit could not be
// read; GOGC is set regardless.
func Apply() (Settings, error) {
	s := Settings{GCPercent: DefaultGCPercent}
	if _, ok := os.LookupEnv("GOGC"); ok {
		s.GCPercent, s.GCPercentFromEnv = current(), true
	} else {
		debug.SetGCPercent(DefaultGCPercent)
	}
	limit, err := memlimit.Set(memlimit.WithRatio(memoryRatio), memlimit.WithProvider(memlimit.FromCgroup))
	s.MemoryLimit = limit
	if err != nil {
		return s, fmt.Errorf("gctune: memory limit from the cgroup: %w", err)
	}
	return s, nil
}

// current returns the GOGC in effect.
func current() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// Saved returns a function that puts back the GOGC and soft memory limit
// in effect now: for a test or benchmark that runs with Apply's settings
// for a while.
func Saved() (restore func()) {
	p, l := current(), debug.SetMemoryLimit(-1)
	return func() {
		debug.SetGCPercent(p)
		debug.SetMemoryLimit(l)
	}
}

// NoLimit reports whether s has no soft memory limit.
func (s Settings) NoLimit() bool { return s.MemoryLimit <= 0 || s.MemoryLimit == math.MaxInt64 }
