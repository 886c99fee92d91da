package fs_test

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
			_, root := newFixture(t, "hello.txt = hello", "docs/a.md")
			return newConnector(t, root)
		},
		Valid:   inv("read", `{"path":"hello.txt"}`),
		Missing: inv("read", `{"path":"missing.txt"}`),
		Invalid: []core.Invocation{
			inv("read", `{"path":""}`),
			inv("read", `{"path":"/etc/passwd"}`),
			inv("read", `{"path":"../sentinel.txt"}`),
			inv("read", `{"path":"..\\sentinel.txt"}`),
			inv("read", `{"path":"a\u0000b"}`),
			inv("read", `{"path":"nul.txt"}`),
			inv("read", `{"path":"C:\\Windows\\win.ini"}`),
			inv("read", `{"path":123}`),
			inv("read", `{"path":null}`),
			inv("read", `{}`),
			inv("read", `{"path":["../x"]}`),
			inv("read", `{"path":"hello.txt","extra":1}`),
			inv("read", `{"path":"hello.txt","PATH":"../x"}`),
			inv("read", `{"path":"hello.txt","path":"../x"}`),
			inv("read", `{"path":"hello.txt"} {}`),
			inv("read", `{"path":"hello.txt","offset":-1}`),
			inv("read", `{"path":"hello.txt","length":0}`),
			inv("read", `{"path":"hello.txt","length":1.5}`),
			inv("list", `{"path":".","cursor":"!!not base64!!"}`),
			inv("list", `{"path":".","limit":0}`),
			inv("search", `{"path":"."}`),
			inv("search", `{"path":".","name":"["}`),
			inv("search", `{"path":".","name":"a/b"}`),
			inv("search", `{"path":".","text":""}`),
			inv("stat", `{"path":"/"}`),
			inv("write", `{"path":"x"}`),
		},
	})
}
