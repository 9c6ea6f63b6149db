//go:build !linux

package stagetest

import "time"

// machineCPU reports that the machine's CPU time is not known here.
func machineCPU() (time.Duration, bool) { return 0, false }
