package core

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestErrorText(t *testing.T) {
	cause := errors.New("cannot open the SQLite database ./shop.db: no such file or directory")
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"cause only, no op, no model sentence", E("sql.open", KindUnavailable, ReasonInternal, "The database of \"shop\" cannot be opened.", cause), cause.Error()},
		{"sentence without cause", E("sql.prepare", KindInvalid, ReasonInvalidArguments, "MySQL commits DDL at once, so there is no dry run.", nil), "MySQL commits DDL at once, so there is no dry run"},
		{"sentence lower-cased", E("fs.read", KindNotFound, ReasonNotFound, "The file does not exist.", nil), "the file does not exist"},
		{"reason only", E("x.y", KindDenied, ReasonRateLimited, "", nil), string(ReasonRateLimited)},
		{"nothing but a kind", E("x.y", KindTimeout, "", "", nil), "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			wrapped := fmt.Errorf("resource %q: %w", "shop", tt.err)
			if s := wrapped.Error(); strings.Contains(s, ".:") || strings.Contains(s, tt.err.Op) {
				t.Errorf("wrapped text %q glues a sentence or names the op %q", s, tt.err.Op)
			}
			if MessageOf(wrapped) != tt.err.Msg && tt.err.Msg != "" {
				t.Errorf("MessageOf = %q, want the model's sentence %q unchanged", MessageOf(wrapped), tt.err.Msg)
			}
		})
	}
}

func TestCause(t *testing.T) {
	_, err := os.Open("/nonexistent/warden-cause-test")
	if got := Cause(err); got != "no such file or directory" {
		t.Errorf("Cause(%v) = %q, want the cause without the call and path", err, got)
	}
	if got := Cause(fmt.Errorf("reading: %w", err)); got != "no such file or directory" {
		t.Errorf("Cause(wrapped) = %q", got)
	}
	if got := Cause(errors.New("plain")); got != "plain" {
		t.Errorf("Cause(plain) = %q", got)
	}
}
