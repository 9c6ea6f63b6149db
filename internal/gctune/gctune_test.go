package gctune

import (
	"os"
	"runtime/debug"
	"testing"
)

// restore puts back the collector settings the test process had.
func restore(t *testing.T) {
	t.Helper()
	t.Cleanup(Saved())
}

// unsetenv removes key for the test, putting it back after.
func unsetenv(t *testing.T, key string) {
	t.Helper()
	t.Setenv(key, "")
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}

func TestApplySetsGOGCUnlessTheEnvironmentDoes(t *testing.T) {
	restore(t)
	unsetenv(t, "GOGC")
	t.Setenv("GOMEMLIMIT", "1GiB") // keep the memory limit out of it
	debug.SetGCPercent(100)
	s, err := Apply()
	if err != nil {
		t.Fatal(err)
	}
	if s.GCPercent != DefaultGCPercent || s.GCPercentFromEnv || current() != DefaultGCPercent {
		t.Errorf("without GOGC: settings %+v, GOGC in effect %d; want %d, not from the environment", s, current(), DefaultGCPercent)
	}

	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150) // as the runtime did at start
	s, err = Apply()
	if err != nil {
		t.Fatal(err)
	}
	if s.GCPercent != 150 || !s.GCPercentFromEnv || current() != 150 {
		t.Errorf("with GOGC=150: settings %+v, GOGC in effect %d; want 150 from the environment", s, current())
	}
}

func TestApplyLeavesGOMEMLIMITToTheEnvironment(t *testing.T) {
	restore(t)
	t.Setenv("GOMEMLIMIT", "3GiB")
	debug.SetMemoryLimit(3 << 30) // as the runtime did at start
	s, err := Apply()
	if err != nil {
		t.Fatal(err)
	}
	if s.MemoryLimit != 3<<30 || debug.SetMemoryLimit(-1) != 3<<30 {
		t.Errorf("with GOMEMLIMIT=3GiB: settings %+v, limit in effect %d; want 3GiB kept", s, debug.SetMemoryLimit(-1))
	}
}

func TestApplyReportsTheLimitInEffect(t *testing.T) {
	restore(t)
	unsetenv(t, "GOMEMLIMIT")
	unsetenv(t, "AUTOMEMLIMIT")
	s, err := Apply()
	if err != nil {
		t.Skipf("no cgroup memory limit readable here: %v", err)
	}
	if got := debug.SetMemoryLimit(-1); s.MemoryLimit != got {
		t.Errorf("settings say a limit of %d, the runtime has %d", s.MemoryLimit, got)
	}
}
