package stagetest

import (
	"bytes"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// CPU adds up the CPU time spans of a benchmark used: the test process's
// (the stage's or the baseline's own work, and a sink's when it runs in
// the test) and the whole machine's (the broker's and Redis's too, when
// they run on the same machine). A span is what happens between Start and
// the function it returns.
//
// The process's CPU per record varies far less between runs made close
// together than a rate does. The machine's says what a record costs in
// all, and its busy share (machine-busy: the machine's CPU over the
// span's wall time and all its cores) says whether the cores ran out: a
// side near 1 is bound by CPU, and would be faster on more cores; a side
// well below it is waiting on round trips. The machine's figures count
// everything that ran meanwhile, so they mean something only on a
// machine that runs nothing but the benchmark and its services.
type CPU struct {
	process, machine, wall time.Duration
	spans                  int
	machineOK              bool
}

// Start begins a span; the function it returns ends it.
func (c *CPU) Start() (stop func()) {
	p0, pok := processCPU()
	m0, mok := machineCPU()
	began := time.Now()
	return func() {
		wall := time.Since(began)
		p1, _ := processCPU()
		m1, _ := machineCPU()
		if !pok {
			return
		}
		c.process += p1 - p0
		c.wall += wall
		c.machineOK = mok && (c.spans == 0 || c.machineOK)
		c.machine += m1 - m0
		c.spans++
	}
}

// Report reports, per unit of n units (a record, an event) done in all
// the spans: the process's CPU as <prefix>cpu-us/<unit>, and where the
// platform tells it, the machine's as <prefix>machine-cpu-us/<unit> and
// its busy share as <prefix>machine-busy. It reports nothing where the
// platform tells neither.
func (c *CPU) Report(b *testing.B, prefix, unit string, n float64) {
	if c.spans == 0 || n <= 0 {
		return
	}
	b.ReportMetric(float64(c.process.Microseconds())/n, prefix+"cpu-us/"+unit)
	if !c.machineOK || c.wall <= 0 {
		return
	}
	b.ReportMetric(float64(c.machine.Microseconds())/n, prefix+"machine-cpu-us/"+unit)
	b.ReportMetric(c.machine.Seconds()/(c.wall.Seconds()*float64(runtime.NumCPU())), prefix+"machine-busy")
}

// clockTick is the unit of /proc/stat: USER_HZ, 100 on every Linux
// architecture Go runs on.
const clockTick = 10 * time.Millisecond

// parseProcStat reads the busy time of /proc/stat's "cpu" line.
func parseProcStat(b []byte) (time.Duration, bool) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	// cpu user nice system idle iowait irq softirq ...
	if len(f) < 8 || string(f[0]) != "cpu" {
		return 0, false
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7} {
		n, err := strconv.ParseInt(string(f[i]), 10, 64)
		if err != nil {
			return 0, false
		}
		busy += n
	}
	return time.Duration(busy) * clockTick, true
}
