package warden_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/warden-dev/warden"
)

func Example() {
	dir, _ := os.MkdirTemp("", "warden-example")
	defer os.RemoveAll(dir)
	_ = os.MkdirAll(filepath.Join(dir, "notes", "private"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "notes", "todo.md"), []byte("buy milk"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "notes", "private", "diary.md"), []byte("dear diary"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "warden.yaml"), []byte(`
version: 1
resources:
  notes: {kind: fs, root: ./notes}
agents:
  assistant:
    grants:
      - {resource: notes, actions: [read, list]}
    deny:
      - {resource: notes, paths: ["private/**"]}
`), 0o644)

	ctx := context.Background()
	w, err := warden.Open(ctx, filepath.Join(dir, "warden.yaml"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()

	for _, t := range w.Tools("assistant") {
		fmt.Println("tool:", t.Name)
	}
	res := w.Call(ctx, "assistant", "notes_read", json.RawMessage(`{"path": "todo.md"}`))
	var file struct{ Content string }
	_ = json.Unmarshal(res.Value, &file)
	fmt.Println(res.Decision, file.Content)

	res = w.Call(ctx, "assistant", "notes_read", json.RawMessage(`{"path": "private/diary.md"}`))
	fmt.Println(res.Decision, res.Reason)
	// Output:
	// tool: notes_read
	// tool: notes_list
	// tool: notes_stat
	// allow buy milk
	// deny deny-rule
}
