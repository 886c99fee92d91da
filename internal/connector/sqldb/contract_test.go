package sqldb

import (
	"encoding/json"
	"testing"

	"github.com/warden-dev/warden/internal/connector/connectortest"
	"github.com/warden-dev/warden/internal/core"
)

func TestContract(t *testing.T) {
	inv := func(op, args string) core.Invocation {
		return core.Invocation{Op: op, Args: json.RawMessage(args)}
	}
	connectortest.Run(t, connectortest.Contract{
		New: func(t *testing.T) core.Connector {
			return openSQLite(t, shopFile(t), Limits{})
		},
		Valid: inv(OpQuery, `{"sql":"SELECT id, total FROM orders WHERE id = ?","params":[1]}`),
		// No Missing: a table that does not exist is refused like one
		// outside the grants, so existence does not leak.
		Invalid: []core.Invocation{
			inv(OpQuery, `{}`),
			inv(OpQuery, `{"sql":""}`),
			inv(OpQuery, `{"sql":"   "}`),
			inv(OpQuery, `{"sql":123}`),
			inv(OpQuery, `{"sql":"SELECT ?","params":[{"a":1}]}`),
			inv(OpQuery, `{"sql":"SELECT ?","params":[[1]]}`),
			inv(OpQuery, `{"sql":"SELECT 1","params":"x"}`),
			inv(OpQuery, "{\"sql\":\"SELECT 1\u0000\"}"),
			inv(OpExecute, `{"sql":"SELECT 1"}`),
		},
	})
}
