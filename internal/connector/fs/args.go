package fs

import (
	"github.com/warden-dev/warden/internal/argjson"
	"github.com/warden-dev/warden/internal/core"
)

// decodeArgs decodes a call's arguments into v, a pointer to a struct
// whose json tags are the tool's arguments, by the rule every kind shares
// (argjson.Decode): exact names, no other key, each value of its field's
// type. The pipeline has validated the arguments against the schema
// already; this does not rely on it.
func decodeArgs(op string, inv *core.Invocation, v any) error {
	if err := argjson.Decode(inv.Args, inv.Values, v); err != nil {
		return core.E(op, core.KindInvalid, core.ReasonInvalidArguments, err.Error(), err)
	}
	return nil
}
