package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/sys/unix"

	"github.com/warden-dev/warden/bench/internal/procstat"
)

// fillBytes is the size of one filler write.
const fillBytes = 2 << 20

// load runs the sessions, the killer and the RSS sampler until the
// duration is over, and returns what they counted.
func load(ctx context.Context, c config, fx *fixture, srv *server, rng *rand.Rand, logf func(string, ...any)) (*report, error) {
	start := time.Now()
	deadline := start.Add(c.duration)
	rep := &report{cfg: c, fx: fx, srv: srv, started: start, tally: newTally(start), ledger: newLedger()}
	for s := c.fillers; s < c.sessions; s++ {
		rep.ledger.value(ownPath(s), hashOf(fmt.Sprintf("%s initial\n", tag(s))), acked)
		rep.ledger.value(boardPath(s%numBoards)+" "+boardKey(s), "0", acked)
	}
	// One transport for every session, as one agent host would have; it
	// dials loopback only, and never through a proxy.
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 2 * c.sessions,
		IdleConnTimeout:     30 * time.Second,
	}
	defer transport.CloseIdleConnections()

	var wg sync.WaitGroup
	stopSampling := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		sampleRSS(srv, rep, stopSampling)
	}()
	if c.killMin > 0 {
		killerRng := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
		wg.Add(1)
		go func() {
			defer wg.Done()
			killer(ctx, c, srv, rep, killerRng, deadline.Add(-c.quietTail), logf)
		}()
	}
	var workers sync.WaitGroup
	for s := range c.sessions {
		w := &worker{
			s: s, run: rep, cfg: c, fx: fx, deadline: deadline, ctx: ctx,
			rng:  rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())),
			http: &http.Client{Transport: bearer{token: fx.tokens[s%numAgents], base: transport}},
		}
		workers.Add(1)
		go func() {
			defer workers.Done()
			if s < c.fillers {
				w.fill()
			} else {
				w.work()
			}
			w.close()
		}()
	}
	workers.Wait()
	rep.ended = time.Now()
	close(stopSampling)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted: %w", err)
	}
	return rep, nil
}

// sampleRSS reads the server's VmRSS and the disk's use every second.
func sampleRSS(srv *server, rep *report, stop <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			var st unix.Statfs_t
			if unix.Statfs(rep.fx.disk, &st) == nil && st.Blocks > 0 {
				rep.tally.disk(now, float64(st.Blocks-st.Bfree)/float64(st.Blocks))
			}
			pid := srv.pid()
			if pid == 0 {
				continue
			}
			if m, err := procstat.ReadMemory(pid); err == nil && m.RSS > 0 {
				rep.tally.rss(now, m.RSS)
				rep.mu.Lock()
				rep.hwm = max(rep.hwm, m.HWM)
				rep.mu.Unlock()
			}
		}
	}
}

// killer SIGKILLs the server every killMin to killMax until last, and
// restarts it on the same state at once.
func killer(ctx context.Context, c config, srv *server, rep *report, rng *rand.Rand, last time.Time, logf func(string, ...any)) {
	for {
		wait := c.killMin + time.Duration(rng.Int64N(int64(c.killMax-c.killMin)+1))
		if time.Now().Add(wait).After(last) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		srv.kill()
		rep.tally.kill(time.Now())
		for attempt := 0; ; attempt++ {
			err := srv.start(ctx)
			if err == nil {
				break
			}
			srv.mu.Lock()
			srv.restartFailures = append(srv.restartFailures, err.Error())
			srv.mu.Unlock()
			logf("restart %d failed: %v", attempt+1, err)
			if ctx.Err() != nil || attempt >= 20 {
				return
			}
			time.Sleep(time.Second)
		}
	}
}

// bearer adds the agent's token to every request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// A worker is one MCP session's client, reconnecting after each failure.
type worker struct {
	s        int
	run      *report
	cfg      config
	fx       *fixture
	deadline time.Time
	ctx      context.Context
	rng      *rand.Rand
	http     *http.Client
	cs       *mcp.ClientSession
	n        int // calls started, to make each change unique

	// The board line this session edits: its value, and whether that is
	// known (false after an unclear edit, until read back).
	board    int
	unsynced bool
	scratch  []scratchFile
}

func (w *worker) live() bool { return w.ctx.Err() == nil && time.Now().Before(w.deadline) }

// connect opens a session, retrying with a growing pause while the server
// is down; false when the run ended first.
func (w *worker) connect() bool {
	pause := 100 * time.Millisecond
	for w.live() {
		ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
		client := mcp.NewClient(&mcp.Implementation{Name: "loadchaos", Version: "v0"}, nil)
		cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
			Endpoint: "http://" + w.run.srv.addr + "/", HTTPClient: w.http, MaxRetries: -1,
		}, nil)
		cancel()
		if err == nil {
			w.cs = cs
			w.run.tally.record("connect", okReason, time.Now())
			return true
		}
		w.failed("connect", err)
		time.Sleep(pause/2 + time.Duration(w.rng.Int64N(int64(pause))))
		pause = min(2*pause, time.Second)
	}
	return false
}

func (w *worker) failed(op string, err error) {
	outcome := transportPrefix + transportClass(err)
	w.run.tally.sample(outcome, err.Error())
	w.run.tally.record(op, outcome, time.Now())
}

func (w *worker) close() {
	if w.cs != nil {
		_ = w.cs.Close()
		w.cs = nil
	}
}

// call makes one tool call. The verdict is 0 when the run ended before the
// call could be made.
func (w *worker) call(op, tool string, args map[string]any) (*mcp.CallToolResult, verdict) {
	if w.cs == nil && !w.connect() {
		return nil, 0
	}
	w.n++
	// Not the run's deadline: a call in flight when the run ends finishes.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), w.cfg.callTimeout)
	defer cancel()
	began := time.Now()
	res, err := w.cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	w.run.tally.latency(op, time.Since(began))
	if err != nil {
		w.failed(op, err)
		cs := w.cs
		w.cs = nil
		go cs.Close() // a dead server's session; do not wait on it
		return nil, unclear
	}
	reason := reasonOf(res)
	if reason == okReason {
		w.run.tally.record(op, okReason, time.Now())
		return res, acked
	}
	v := refused
	if changeMade(res) {
		// Done, but not recorded: the ledger counts it as done.
		reason, v = reason+changeMadeSuffix, acked
	}
	w.run.tally.sample(reason, resultText(res))
	w.run.tally.record(op, reason, time.Now())
	return res, v
}

// An op is one kind of call a worker makes, with its share of the mix.
type op struct {
	weight int
	do     func(w *worker)
}

var workerOps = []op{
	{14, (*worker).read},
	{6, (*worker).list},
	{6, (*worker).search},
	{8, (*worker).overwrite},
	{8, (*worker).appendOwn},
	{8, (*worker).appendShared},
	{8, (*worker).edit},
	{5, (*worker).move},
	{4, (*worker).delete},
	{8, (*worker).sqlSelect},
	{6, (*worker).sqlInsert},
	{8, (*worker).httpGet},
}

// work makes calls drawn from workerOps until the run ends.
func (w *worker) work() {
	total := 0
	for _, o := range workerOps {
		total += o.weight
	}
	for w.live() {
		r := w.rng.IntN(total)
		for _, o := range workerOps {
			if r < o.weight {
				o.do(w)
				break
			}
			r -= o.weight
		}
	}
}

func (w *worker) read() {
	var path string
	switch w.rng.IntN(3) {
	case 0:
		path = ownPath(w.s)
	case 1:
		path = boardPath(w.rng.IntN(numBoards))
	default:
		i := w.rng.IntN(numDocs)
		path = fmt.Sprintf("docs/d%02d/note-%03d.md", i%6, i)
	}
	w.call("read", "files_read", map[string]any{"path": path})
}

func (w *worker) list() {
	w.call("list", "files_list", map[string]any{"path": "docs", "recursive": true})
}

func (w *worker) search() {
	if w.rng.IntN(2) == 0 {
		w.call("search", "files_search", map[string]any{"path": "docs", "name": fmt.Sprintf("note-0%d?.md", w.rng.IntN(6))})
		return
	}
	w.call("search", "files_search", map[string]any{"path": "docs", "text": fmt.Sprintf("needle-%d", w.rng.IntN(10))})
}

// overwrite replaces the session's own file with new content of 0–8 KiB.
func (w *worker) overwrite() {
	content := fmt.Sprintf("%s write %d\n%s\n", tag(w.s), w.n, strings.Repeat("x", w.rng.IntN(8<<10)))
	_, v := w.call("write", "files_write", map[string]any{"path": ownPath(w.s), "content": content, "mode": "overwrite"})
	if v != 0 {
		w.run.ledger.value(ownPath(w.s), hashOf(content), v)
	}
}

func (w *worker) appendOwn() {
	w.appendLine(ownLogPath(w.s), fmt.Sprintf("%s own %d", tag(w.s), w.n))
}

func (w *worker) appendShared() {
	w.appendLine(sharedLogPath(w.rng.IntN(numShared)), fmt.Sprintf("%s shared %d", tag(w.s), w.n))
}

func (w *worker) appendLine(path, line string) {
	res, v := w.call("append", "files_write", map[string]any{"path": path, "content": line + "\n", "mode": "append"})
	if v != 0 {
		w.run.ledger.line(path, line, v, reasonIf(res, v))
	}
}

// edit counts the session's own line of its board up by one: every
// session of the board edits the same file, but never the same line.
func (w *worker) edit() {
	path := boardPath(w.s % numBoards)
	item := path + " " + boardKey(w.s)
	if w.unsynced {
		res, v := w.call("read", "files_read", map[string]any{"path": path})
		if v != acked {
			return
		}
		n, ok := boardValue(textContent(res, "content"), boardKey(w.s))
		if !ok {
			w.run.ledger.resync(item, "(line missing)")
			return
		}
		w.run.ledger.resync(item, strconv.Itoa(n))
		w.board, w.unsynced = n, false
	}
	next := w.board + 1
	edits := []map[string]any{{"old": fmt.Sprintf("%s %d\n", boardKey(w.s), w.board), "new": fmt.Sprintf("%s %d\n", boardKey(w.s), next)}}
	res, v := w.call("edit", "files_edit", map[string]any{"path": path, "edits": edits})
	switch v {
	case acked:
		w.board = next
		w.run.ledger.value(item, strconv.Itoa(next), acked)
	case unclear:
		w.run.ledger.value(item, strconv.Itoa(next), unclear)
		w.unsynced = true
	case refused:
		if reasonOf(res) == "edit-no-match" {
			// The line is not what this session last left: read it back,
			// which records the discrepancy.
			w.unsynced = true
		}
	}
}

// move creates a scratch file and moves it over one of the shared drop
// files (overwrite: true), which other sessions move onto too.
func (w *worker) move() {
	from := scratchPath(w.s, w.n)
	_, created := w.call("create", "files_write", map[string]any{"path": from, "content": fmt.Sprintf("%s scratch %d\n", tag(w.s), w.n)})
	if created == refused || created == 0 {
		return
	}
	res, v := w.call("move", "files_move", map[string]any{"from": from, "to": dropPath(w.rng.IntN(numShared)), "overwrite": true})
	switch {
	case v == acked || v == 0:
		return
	case v == unclear || created != acked:
		w.scratch = append(w.scratch, scratchFile{path: from})
		return
	}
	// A refused move must leave its source where it was.
	reason := reasonOf(res)
	if res, v := w.call("stat", "files_stat", map[string]any{"path": from}); v == refused && reasonOf(res) == "not-found" {
		w.run.ledger.note("%s: a move refused with %s moved it anyway", from, reason)
		return
	}
	w.scratch = append(w.scratch, scratchFile{path: from, sure: true})
}

// A scratchFile is a file this session created and may delete; sure when
// it must exist (its creation acknowledged, nothing unclear since).
type scratchFile struct {
	path string
	sure bool
}

// delete removes a scratch file this session made, or makes one to remove.
func (w *worker) delete() {
	if len(w.scratch) == 0 {
		from := scratchPath(w.s, w.n)
		_, v := w.call("create", "files_write", map[string]any{"path": from, "content": "to delete\n"})
		if v == refused || v == 0 {
			return
		}
		w.scratch = append(w.scratch, scratchFile{path: from, sure: v == acked})
	}
	f := w.scratch[len(w.scratch)-1]
	res, v := w.call("delete", "files_delete", map[string]any{"path": f.path})
	if v == 0 || (v == refused && reasonOf(res) != "not-found") {
		return // still there: try again later
	}
	w.scratch = w.scratch[:len(w.scratch)-1]
	if v == refused && f.sure {
		w.run.ledger.note("%s: an acknowledged file was gone before its delete (nothing else deletes it)", f.path)
	}
}

func (w *worker) sqlSelect() {
	w.call("sql-select", "shop_query", map[string]any{"sql": "SELECT count(*) AS n, max(seq) AS last FROM events WHERE session = ?", "params": []any{tag(w.s)}})
}

func (w *worker) sqlInsert() {
	seq := w.n
	res, v := w.call("sql-insert", "shop_execute", map[string]any{"sql": "INSERT INTO events (session, seq, note) VALUES (?, ?, ?)", "params": []any{tag(w.s), seq, "load"}})
	if v != 0 {
		w.run.ledger.row(fmt.Sprintf("%s:%d", tag(w.s), seq), v, reasonIf(res, v))
	}
}

func (w *worker) httpGet() {
	w.call("http-get", "echo_request", map[string]any{"method": "GET", "path": fmt.Sprintf("items/%d", w.rng.IntN(1000))})
}

// fill writes 2 MiB files until a write is refused (the disk is full),
// holds the disk full for two seconds, deletes its files, pauses two
// seconds, and starts again.
func (w *worker) fill() {
	line := fmt.Sprintf("%s fills the disk %s\n", tag(w.s), strings.Repeat("=", 40))
	big := strings.Repeat(line, fillBytes/len(line)+1)[:fillBytes]
	var files []string
	for w.live() {
		for full := false; !full && w.live() && len(files) < 64; {
			path := fillPath(w.s, w.n)
			_, v := w.call("fill-write", "files_write", map[string]any{"path": path, "content": big})
			switch v {
			case acked, unclear:
				files = append(files, path)
			case refused:
				full = true
			}
		}
		w.sleep(2 * time.Second)
		kept := files[:0]
		for _, path := range files {
			if !w.live() {
				kept = append(kept, path)
				continue
			}
			res, v := w.call("fill-delete", "files_delete", map[string]any{"path": path})
			if v == 0 || (v == refused && reasonOf(res) != "not-found") {
				kept = append(kept, path)
			}
		}
		files = kept
		w.sleep(2 * time.Second)
	}
}

// sleep pauses for d, or less if the run ends first.
func (w *worker) sleep(d time.Duration) {
	d = min(d, time.Until(w.deadline))
	if d > 0 {
		select {
		case <-w.ctx.Done():
		case <-time.After(d):
		}
	}
}

// reasonIf is a refused call's reason code, else "".
func reasonIf(res *mcp.CallToolResult, v verdict) string {
	if v != refused {
		return ""
	}
	return reasonOf(res)
}

// resultText is a result's text content.
func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// textContent returns a string field of a result's structured content.
func textContent(res *mcp.CallToolResult, field string) string {
	if m, ok := res.StructuredContent.(map[string]any); ok {
		s, _ := m[field].(string)
		return s
	}
	return ""
}

// boardValue finds key's line ("[s07] 12") in a board and returns its number.
func boardValue(board, key string) (int, bool) {
	for _, ln := range strings.Split(board, "\n") {
		if v, ok := strings.CutPrefix(ln, key+" "); ok {
			n, err := strconv.Atoi(v)
			return n, err == nil
		}
	}
	return 0, false
}

// probeWrite writes one small file through a fresh session: the write that
// sweeps its directory's stale temporary files.
func probeWrite(ctx context.Context, addr, token, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "loadchaos-probe", Version: "v0"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: "http://" + addr + "/", HTTPClient: &http.Client{Transport: bearer{token: token, base: &http.Transport{}}}, MaxRetries: -1,
	}, nil)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "files_write", Arguments: map[string]any{"path": path, "content": "probe\n", "mode": "overwrite"}})
	if err != nil {
		return fmt.Errorf("probe: writing %s: %w", path, err)
	}
	if r := reasonOf(res); r != okReason {
		return fmt.Errorf("probe: writing %s: refused (%s)", path, r)
	}
	return nil
}
