package stagetest

import (
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{0.5, 0.9, 0.1, 0.7, 0.3}, 0.5},
	} {
		in := append([]float64(nil), tc.xs...)
		if got := Median(tc.xs); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", in, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.xs[i] {
				t.Fatalf("Median reordered its argument: %v", tc.xs)
			}
		}
	}
}

func TestParseProcStat(t *testing.T) {
	stat := "cpu  596111 7 133633 772413 7704 11 10283 1339 0 0\ncpu0 294685 0 61283 397134 2457 0 4141 655 0 0\n"
	got, ok := parseProcStat([]byte(stat))
	// user + nice + system + irq + softirq, in ticks of 10ms
	if want := time.Duration(596111+7+133633+11+10283) * 10 * time.Millisecond; !ok || got != want {
		t.Fatalf("parseProcStat = %v, %v; want %v, true", got, ok, want)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7\n", "cpu 1 2 3\n", "cpu 1 2 x 4 5 6 7\n"} {
		if got, ok := parseProcStat([]byte(bad)); ok {
			t.Errorf("parseProcStat(%q) = %v, true; want false", bad, got)
		}
	}
}

func TestCPUCountsASpan(t *testing.T) {
	var c CPU
	stop := c.Start()
	deadline := time.Now().Add(50 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	stop()
	if _, ok := processCPU(); ok && c.process <= 0 {
		t.Fatalf("a span that spun for 50ms used %v of the process's CPU", c.process)
	}
	if _, ok := machineCPU(); ok && (!c.machineOK || c.machine <= 0) {
		t.Fatalf("a span that spun for 50ms used %v of the machine's CPU (known: %v)", c.machine, c.machineOK)
	}
}
