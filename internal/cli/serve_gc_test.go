package cli

import (
	"runtime/debug"
	"testing"
	"time"
)

// TestDeferFirstGC checks that serve's start runs with the lax setting
// and gives the operator's back after startGCTime, and that GOGC=off is
// left off.
func TestDeferFirstGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)

	deferFirstGC()
	if got := debug.SetGCPercent(startGCPercent); got != startGCPercent {
		t.Fatalf("during start-up GOGC is %d, want %d", got, startGCPercent)
	}
	time.Sleep(startGCTime + 300*time.Millisecond)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("after start-up GOGC is %d, want the operator's 100 back", got)
	}

	debug.SetGCPercent(-1)
	deferFirstGC()
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GOGC=off became %d", got)
	}
}
