package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/audit"
	"github.com/warden-dev/warden/internal/policy"
)

func TestRecord_AppendsRedactedEvent(t *testing.T) {
	e, dir := newEngine(t, dbPolicy, &fakeSQL{}, dbEnv)
	secret := dbEnv["ANALYST_TOKEN"]
	id, err := e.Record(context.Background(), &audit.Record{Event: "egress", Agent: "analyst", Path: "evil.example:443?" + secret, Decision: "deny", Outcome: "not_run"})
	if err != nil || id == "" {
		t.Fatalf("Record = %q, %v", id, err)
	}
	e.Close()
	log, err := os.ReadFile(filepath.Join(dir, ".warden", audit.LogFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), `"event":"egress"`) || !strings.Contains(string(log), id) {
		t.Errorf("the audit log lacks the event: %s", log)
	}
	if strings.Contains(string(log), secret) {
		t.Errorf("the audit log holds the secret: %s", log)
	}
}

func TestRecord_NoStateFails(t *testing.T) {
	e := openNoState(t, t.TempDir(), dbPolicy, policy.WithLookupEnv(func(k string) (string, bool) { v, ok := dbEnv[k]; return v, ok }))
	if _, err := e.Record(context.Background(), &audit.Record{Event: "egress"}); err == nil {
		t.Error("Record without an audit log succeeded")
	}
}
