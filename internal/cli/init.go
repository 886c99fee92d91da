package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/warden-dev/warden/internal/policy"
)

const initHelp = `Writes warden.yaml, a commented starter policy for the current directory:
one agent that may read, list, search and stat files here, with .git
denied and secrets hidden. Refuses to overwrite an existing file unless
--force is given. The written policy is checked before the command returns.`

const starterPolicy = `# Warden policy. Everything an agent is not granted here is denied.
# Check it with "warden policy check warden.yaml"; the README's policy
# reference lists every setting.
version: 1

resources:
  files:                  # tools are named <resource>_<operation>: files_read, ...
    kind: fs
    root: .               # this directory; grant paths are relative to it
    # limits: {max_read_bytes: 1MiB, max_list_entries: 1000, search_timeout: 10s}

  # A database: SQLite here; postgres and mysql take dsn: env:NAME, and
  # "warden sql grants --resource shop" prints a least-privilege login:
  # shop:
  #   kind: sql
  #   driver: sqlite
  #   dsn: ./shop.db
  #   limits: {max_rows: 1000, timeout: 10s}

  # An HTTP API; secrets are references (env:NAME or file:PATH), never inline:
  # requests never leave the base URL's path, and never reach loopback,
  # private or cloud metadata addresses unless allow_private lists them:
  # weather:
  #   kind: http
  #   base_url: https://api.weather.example/v1/
  #   auth: {header: X-Api-Key, secret: env:WEATHER_KEY}
  #   limits: {timeout: 30s, calls_per_minute: 60}

agents:
  assistant:
    # token: env:ASSISTANT_TOKEN   # required to serve this agent over HTTP beyond loopback
    grants:
      - resource: files
        actions: [read, list, search, stat]
      # Writes that wait for a human's approval, limited to drafts/:
      # - resource: files
      #   actions: [write]
      #   paths: ["drafts/**"]
      #   approval: required
      # Read-only queries on some tables and columns of the database:
      # - resource: shop
      #   actions: [query]
      #   tables: {orders: "*", customers: [id, country]}
      # GET and HEAD on some endpoints of the API, with only some parameters:
      # - resource: weather
      #   read_only: true
      #   paths: ["/v1/forecast", "/v1/stations/{id}"]
      #   query: [city, days]
      # A grant can carry a CEL condition over agent, resource, action,
      # tool, path, args and now:
      #   when: 'now.getHours("UTC") >= 8 && now.getHours("UTC") < 18'
    deny:                 # deny rules always win over grants
      - resource: files
        paths: [".git/**", ".warden/**"]
    limits:
      calls_per_minute: 120

# settings:
#   state_dir: .warden    # audit log and approvals, beside this file
#   approvals: {ttl: 10m, elicitation: true}
#   audit: {sync: interval}
`

func runInit(e *env, args []string) int {
	fs := newFlags(e, "init", "init [--force] [FILE]", initHelp)
	force := fs.Bool("force", false, "overwrite an existing file")
	pos, err := parse(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(pos) > 1 {
		fs.Usage()
		return ExitUsage
	}
	file := "warden.yaml"
	if len(pos) == 1 {
		file = pos[0]
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if *force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(file, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return usageErr(e, "%s already exists; use --force to overwrite it", file)
	}
	// The file cannot be written: a failure (exit 1), said once.
	if err != nil {
		return writeFailed(e, file, err)
	}
	if _, err := io.WriteString(f, starterPolicy); err != nil {
		f.Close()
		return writeFailed(e, file, err)
	}
	if err := f.Close(); err != nil {
		return writeFailed(e, file, err)
	}
	if _, err := policy.Load(file); err != nil {
		return usageErr(e, "the starter policy does not load (a bug, please report it): %v", err)
	}
	fmt.Fprintf(e.stdout, "wrote %s: agent \"assistant\" may read, list, search and stat files here.\nNext: warden serve --policy %s   (or: warden policy check %s)\n", file, file, file)
	return ExitOK
}

// readLimited reads at most max bytes, and fails if there are more.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("more than %d bytes", max)
	}
	return b, nil
}
