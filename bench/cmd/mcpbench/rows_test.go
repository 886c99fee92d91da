package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestRows runs every row's calls and checks against the floor and, when
// it is installed in bench/.cache, the reference, and then shows that the
// write and edit checks fail when a call did not happen.
func TestRows(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the floor and starts servers")
	}
	floorBin := filepath.Join(t.TempDir(), "floor")
	if out, err := exec.Command("go", "build", "-o", floorBin, "../../floor").CombinedOutput(); err != nil {
		t.Fatalf("go build floor: %v\n%s", err, out)
	}
	fx, err := makeFixture(filepath.Join(t.TempDir(), "fixture"))
	if err != nil {
		t.Fatal(err)
	}
	servers := []*server{floorServer(floorBin, fx)}
	ref, _ := filepath.Abs("../../.cache/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js")
	if _, err := os.Stat(ref); err == nil {
		servers = append(servers, referenceServer("node", ref, fx, ""))
	} else {
		t.Log("reference not installed in bench/.cache; testing the floor only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpbench-test", Version: "1"}, nil)
	const n = 3
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			s, tools, _, _, err := connect(ctx, client, srv, nil, nil, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			s.calls = srv.plan(tools)
			if err := checkTools(s.calls, allRows(), tools); err != nil {
				t.Fatal(err)
			}
			for _, r := range allRows() {
				lat, err := s.runBatch(ctx, r, n, time.Minute)
				if err != nil || len(lat) != n {
					t.Fatalf("runBatch(%s) made %d calls: %v; want %d checked calls", r, len(lat), err, n)
				}
			}
			files := map[string]string{fx.writePath(srv.name): writeContent(n - 1), fx.editPath(srv.name): editContent(n - 1)}
			for rel, want := range files {
				if err := fx.checkFile(rel, want); err != nil {
					t.Errorf("after %d calls: %v", n, err)
				}
			}
			// The next iteration's checks must fail, since its call was not made.
			ok := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: `{"diff":""}`}}}
			for _, r := range []row{rowWrite, rowEdit} {
				if err := s.calls[r].check(n, ok); err == nil {
					t.Errorf("%s check of a call never made = nil, want an error", r)
				}
			}
		})
	}
}
