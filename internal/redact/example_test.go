package redact_test

import (
	"encoding/base64"
	"fmt"

	"github.com/warden-dev/warden/internal/redact"
)

func Example() {
	r := redact.New("hunter2-password")
	b64 := base64.StdEncoding.EncodeToString([]byte("hunter2-password"))
	fmt.Println(r.String("password=hunter2-password token=" + b64))
	// Output:
	// password=[REDACTED] token=[REDACTED]
}
