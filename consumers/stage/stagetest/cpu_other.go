//go:build !unix

package stagetest

import "time"

// CPUTime reports that the process's CPU time is not known here.
func CPUTime() (time.Duration, bool) { return 0, false }
