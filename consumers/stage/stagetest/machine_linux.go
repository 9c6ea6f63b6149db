package stagetest

import (
	"os"
	"time"
)

// machineCPU returns the CPU time all the machine's cores have spent
// working since boot, from the first line of /proc/stat: user, nice,
// system, irq and softirq. Idle and iowait are not work; steal is time
// the hypervisor gave to another machine; guest is already in user.
func machineCPU() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	return parseProcStat(b)
}
