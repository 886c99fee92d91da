package policy

// The policy language's kinds are the compiled-in ones: the tests decide
// on fs, sql and http resources.
import _ "github.com/warden-dev/warden/internal/connector/all"
