package audit_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/warden-dev/warden/internal/audit"
	"github.com/warden-dev/warden/internal/redact"
)

func Example() {
	dir, err := os.MkdirTemp("", "audit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	l, err := audit.Open(dir, audit.Options{Redactor: redact.New("hunter2-password")})
	if err != nil {
		log.Fatal(err)
	}
	rec, err := l.Append(context.Background(), &audit.Record{
		Event:    "call",
		Agent:    "assistant",
		Tool:     "db_query",
		Args:     []byte(`{"dsn":"postgres://app:hunter2-password@db/app"}`),
		Decision: "allow",
	})
	if err != nil {
		log.Fatal(err) // fail closed: do not run the call
	}
	fmt.Println(rec.Seq, string(rec.Args))
	if err := l.Close(); err != nil {
		log.Fatal(err)
	}

	rep, err := audit.Verify(dir, audit.VerifyOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.OK, rep.Records)
	// Output:
	// 1 {"dsn":"postgres://app:[REDACTED]@db/app"}
	// true 1
}
