package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warden-dev/warden/internal/jsonesc"
	"github.com/warden-dev/warden/internal/redact"
)

// Record is one line of the audit log. Field names are a stable format:
// new fields may be added, but a name never changes meaning.
type Record struct {
	Seq         uint64          `json:"seq"`                    // 1, 2, 3, … with no gaps; set by Append
	ID          string          `json:"id"`                     // unique and sortable; set by Append
	Time        time.Time       `json:"time"`                   // UTC; set by Append if zero
	Event       string          `json:"event"`                  // "call", "approval", "start", "undo", …
	Agent       string          `json:"agent,omitempty"`        // the agent making the call
	Tool        string          `json:"tool,omitempty"`         // the tool called
	Resource    string          `json:"resource,omitempty"`     // the resource touched
	Action      string          `json:"action,omitempty"`       // the policy action
	Path        string          `json:"path,omitempty"`         // the normalised target
	Args        json.RawMessage `json:"args,omitempty"`         // the arguments, redacted
	ArgsSHA256  string          `json:"args_sha256,omitempty"`  // hex SHA-256 of the arguments, when not stored whole
	ArgsBytes   int             `json:"args_bytes,omitempty"`   // size of the arguments
	Blobs       []Blob          `json:"blobs,omitempty"`        // argument values stored in BlobDir, by hash
	Decision    string          `json:"decision,omitempty"`     // "allow", "deny" or "approval_required"
	Rule        string          `json:"rule,omitempty"`         // the policy rule that decided
	Reasons     []string        `json:"reasons,omitempty"`      // reason codes, most significant first
	ApprovalID  string          `json:"approval_id,omitempty"`  // the approval the call waited for
	Outcome     string          `json:"outcome,omitempty"`      // "ok", "error" or "not_run"
	Error       string          `json:"error,omitempty"`        // what went wrong, when Outcome is "error"
	ResultBytes int64           `json:"result_bytes,omitempty"` // payload bytes read or written
	Truncated   bool            `json:"truncated,omitempty"`    // a limit cut the result short
	DurationMS  float64         `json:"duration_ms,omitempty"`  // how long the call ran
	Detail      map[string]any  `json:"detail,omitempty"`       // free-form extras, such as recovery notes
	Prev        string          `json:"prev"`                   // Hash of the previous record; 64 zeros for the first
	Hash        string          `json:"hash"`                   // hash of this record's line; see the package doc
}

// fields is the caller-supplied part of a Record, encoded between the
// fields Append owns (seq, id, time before; prev, hash after). Its tags
// must match Record's.
type fields struct {
	Event       string          `json:"event"`
	Agent       string          `json:"agent,omitempty"`
	Tool        string          `json:"tool,omitempty"`
	Resource    string          `json:"resource,omitempty"`
	Action      string          `json:"action,omitempty"`
	Path        string          `json:"path,omitempty"`
	Args        json.RawMessage `json:"args,omitempty"`
	ArgsSHA256  string          `json:"args_sha256,omitempty"`
	ArgsBytes   int             `json:"args_bytes,omitempty"`
	Blobs       []Blob          `json:"blobs,omitempty"`
	Decision    string          `json:"decision,omitempty"`
	Rule        string          `json:"rule,omitempty"`
	Reasons     []string        `json:"reasons,omitempty"`
	ApprovalID  string          `json:"approval_id,omitempty"`
	Outcome     string          `json:"outcome,omitempty"`
	Error       string          `json:"error,omitempty"`
	ResultBytes int64           `json:"result_bytes,omitempty"`
	Truncated   bool            `json:"truncated,omitempty"`
	DurationMS  float64         `json:"duration_ms,omitempty"`
	Detail      map[string]any  `json:"detail,omitempty"`
}

func fieldsOf(r *Record) fields {
	return fields{
		Event: r.Event, Agent: r.Agent, Tool: r.Tool, Resource: r.Resource,
		Action: r.Action, Path: r.Path, Args: r.Args, ArgsSHA256: r.ArgsSHA256,
		ArgsBytes: r.ArgsBytes, Blobs: r.Blobs, Decision: r.Decision, Rule: r.Rule,
		Reasons: r.Reasons, ApprovalID: r.ApprovalID, Outcome: r.Outcome,
		Error: r.Error, ResultBytes: r.ResultBytes, Truncated: r.Truncated,
		DurationMS: r.DurationMS, Detail: r.Detail,
	}
}

// zeroHash is the prev of the first record.
var zeroHash = strings.Repeat("0", 64)

const (
	hashKey = `,"hash":"`
	// suffixLen is the length of `,"hash":"<64 hex>"}` + "\n".
	suffixLen = len(hashKey) + 64 + len(`"}`) + 1
)

// newHash returns the record hash function: SHA-256, or HMAC-SHA-256 when
// key is set.
func newHash(key []byte) hash.Hash {
	if len(key) > 0 {
		return hmac.New(sha256.New, key)
	}
	return sha256.New()
}

// encoder turns records into log lines. It is not safe for concurrent use;
// the Log serialises it.
type encoder struct {
	mac     hash.Hash
	redact  *redact.Redactor
	sum     [sha256.Size]byte
	line    []byte // reused: the line returned by the last encode
	mid     []byte // reused: the caller's fields
	scratch bytes.Buffer
}

// encode fills r.Hash and returns the line to append, and the record as
// stored: r itself, or if encoding changed the caller's fields, the record
// decoded from the line. The line is valid until the next encode.
func (e *encoder) encode(r *Record) (line []byte, stored Record, err error) {
	mid, err := e.middle(r)
	if err != nil {
		return nil, Record{}, err
	}
	t, err := r.Time.MarshalJSON()
	if err != nil {
		return nil, Record{}, fmt.Errorf("encode time: %w", err)
	}

	b := append(e.line[:0], `{"seq":`...)
	b = strconv.AppendUint(b, r.Seq, 10)
	b = append(b, `,"id":"`...)
	b = append(b, r.ID...)
	b = append(b, `","time":`...)
	b = append(b, t...)
	b = append(b, ',')
	b = append(b, mid.b[1:len(mid.b)-1]...)
	b = append(b, `,"prev":"`...)
	b = append(b, r.Prev...)
	b = append(b, `"}`...)

	e.mac.Reset()
	e.mac.Write(b)
	sum := e.mac.Sum(e.sum[:0])

	b = b[:len(b)-1]
	b = append(b, hashKey...)
	b = hex.AppendEncode(b, sum)
	b = append(b, `"}`...)
	b = append(b, '\n')
	r.Hash = string(b[len(b)-suffixLen+len(hashKey) : len(b)-3])
	if cap(b) <= 1<<16 {
		e.line = b // keep small buffers only; a huge record is rare
	}

	if mid.changed {
		if err := json.Unmarshal(b, &stored); err != nil {
			return nil, Record{}, fmt.Errorf("decode stored record: %w", err)
		}
		return b, stored, nil
	}
	return b, *r, nil
}

// encoded is the caller's fields as a JSON object, and whether they differ
// from the caller's (redacted, or invalid arguments quoted).
type encoded struct {
	b       []byte
	changed bool
}

func (e *encoder) middle(r *Record) (encoded, error) {
	f := fieldsOf(r)
	changed := false
	m, err := appendFields(e.mid[:0], &f, &e.scratch)
	if err != nil && len(f.Args) > 0 && !json.Valid(f.Args) {
		changed = true
		// Arguments come from the agent; keep the record rather than lose
		// it, storing them as a string and saying so.
		f.Args = jsonesc.AppendString(nil, string(f.Args))
		f.Detail = withDetail(f.Detail, map[string]any{"args_invalid_json": true})
		m, err = appendFields(e.mid[:0], &f, &e.scratch)
	}
	if err != nil {
		return encoded{}, fmt.Errorf("encode record: %w", err)
	}
	if cap(m) <= 1<<16 {
		e.mid = m
	}
	red := e.redact.Bytes(m)
	if sameSlice(red, m) {
		return encoded{b: m, changed: changed}, nil
	}
	if structureIntact(m, red) {
		return encoded{b: red, changed: true}, nil
	}
	// Redacting the encoded text cut through JSON syntax (a secret that
	// contains quotes, or one equal to a field name). Redact the values
	// before encoding instead, then the text once more if that is safe.
	vf, err := redactFields(e.redact, f)
	if err != nil {
		return encoded{}, err
	}
	m, err = appendFields(nil, &vf, &e.scratch)
	if err != nil {
		return encoded{}, fmt.Errorf("encode redacted record: %w", err)
	}
	if red := e.redact.Bytes(m); !sameSlice(red, m) && structureIntact(m, red) {
		m = red
	}
	return encoded{b: m, changed: true}, nil
}

// sameSlice reports whether a and b are the same slice, which is how
// redact.Bytes says nothing matched.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// structureIntact reports whether redacting orig into red replaced only
// text inside values: red is valid JSON with the same fields, each of the
// right type. A marker across a field boundary would drop a field.
func structureIntact(orig, red []byte) bool {
	var f fields
	if err := json.Unmarshal(red, &f); err != nil {
		return false
	}
	var before, after map[string]json.RawMessage
	if json.Unmarshal(orig, &before) != nil || json.Unmarshal(red, &after) != nil || len(before) != len(after) {
		return false
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			return false
		}
	}
	return true
}

// redactFields redacts every string in f, including inside Args and Detail.
func redactFields(r *redact.Redactor, f fields) (fields, error) {
	for _, s := range []*string{&f.Event, &f.Agent, &f.Tool, &f.Resource, &f.Action,
		&f.Path, &f.ArgsSHA256, &f.Decision, &f.Rule, &f.ApprovalID, &f.Outcome, &f.Error} {
		*s = r.String(*s)
	}
	if f.Reasons != nil {
		rs := make([]string, len(f.Reasons))
		for i, s := range f.Reasons {
			rs[i] = r.String(s)
		}
		f.Reasons = rs
	}
	if f.Blobs != nil {
		bs := make([]Blob, len(f.Blobs))
		for i, b := range f.Blobs {
			b.Pointer = r.String(b.Pointer)
			bs[i] = b
		}
		f.Blobs = bs
	}
	if len(f.Args) > 0 {
		v, err := redactJSON(r, f.Args)
		if err != nil {
			return fields{}, fmt.Errorf("redact args: %w", err)
		}
		f.Args = v
	}
	if f.Detail != nil {
		raw, err := json.Marshal(f.Detail)
		if err != nil {
			return fields{}, fmt.Errorf("encode detail: %w", err)
		}
		v, err := redactJSON(r, raw)
		if err != nil {
			return fields{}, fmt.Errorf("redact detail: %w", err)
		}
		var d map[string]any
		if err := json.Unmarshal(v, &d); err != nil {
			return fields{}, fmt.Errorf("redact detail: %w", err)
		}
		f.Detail = d
	}
	return f, nil
}

// redactJSON redacts every string, key and number in a JSON document.
func redactJSON(r *redact.Redactor, doc []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(redactValue(r, v))
}

func redactValue(r *redact.Redactor, v any) any {
	switch v := v.(type) {
	case string:
		return r.String(v)
	case json.Number:
		if s := r.String(string(v)); s != string(v) {
			return s
		}
		return v
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = redactValue(r, x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[r.String(k)] = redactValue(r, x)
		}
		return out
	}
	return v
}

// withDetail returns a copy of d with extra added; d is not modified.
func withDetail(d, extra map[string]any) map[string]any {
	out := make(map[string]any, len(d)+len(extra))
	for k, v := range d {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// lineInfo is what chaining needs from a line.
type lineInfo struct {
	seq        uint64
	prev, hash string
	hasSeq     bool
}

// checker verifies single lines. It is not safe for concurrent use.
type checker struct {
	mac hash.Hash
	sum []byte
	hex []byte
}

func newChecker(key []byte) *checker {
	return &checker{mac: newHash(key), sum: make([]byte, 0, sha256.Size), hex: make([]byte, 0, 64)}
}

// check verifies a complete line (ending in "\n") on its own: its shape,
// its hash, and that it is JSON. The problem is "" when the line is sound;
// info.seq is filled whenever the line yields one.
//
// Seq and prev are read from their fixed places, first and last in the
// hashed bytes, rather than by decoding the record: decoding dominated
// Verify's time. json.Valid still rejects lines that are not JSON.
func (c *checker) check(line []byte) (info lineInfo, problem string) {
	const seqKey, prevKey = `{"seq":`, `,"prev":"`
	if rest, ok := bytes.CutPrefix(line, []byte(seqKey)); ok {
		if i := bytes.IndexByte(rest, ','); i > 0 {
			if seq, err := strconv.ParseUint(string(rest[:i]), 10, 64); err == nil {
				info.seq, info.hasSeq = seq, true
			}
		}
	}
	n := len(line)
	if n < suffixLen+2 || line[0] != '{' ||
		string(line[n-suffixLen:n-suffixLen+len(hashKey)]) != hashKey ||
		string(line[n-3:]) != "\"}\n" {
		return info, "malformed record (no hash at the end of the line)"
	}
	got := line[n-suffixLen+len(hashKey) : n-3]
	if !isLowerHex(got) {
		return info, "malformed record (the hash is not 64 lower-case hex digits)"
	}
	info.hash = string(got)

	body := line[:n-suffixLen]
	c.mac.Reset()
	c.mac.Write(body)
	c.mac.Write([]byte("}"))
	c.sum = c.mac.Sum(c.sum[:0])
	c.hex = hex.AppendEncode(c.hex[:0], c.sum)
	if !bytes.Equal(c.hex, got) {
		return info, "record edited (hash mismatch)"
	}
	if !json.Valid(line) {
		return info, "malformed record (not valid JSON)"
	}
	if !info.hasSeq {
		return info, "malformed record (seq is not the first field)"
	}
	if len(body) < len(prevKey)+65 || string(body[len(body)-65-len(prevKey):len(body)-65]) != prevKey ||
		body[len(body)-1] != '"' || !isLowerHex(body[len(body)-65:len(body)-1]) {
		return info, "malformed record (prev is not the last field)"
	}
	info.prev = string(body[len(body)-65 : len(body)-1])
	return info, ""
}

func isLowerHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// crockford is the Crockford base32 alphabet used for IDs.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// global generates ids handed out before a record is appended.
var global struct {
	sync.Mutex
	g idGen
}

// NewID returns a fresh record id, for a caller that must name a record
// before appending it (a write keeps its journal under the id of its audit
// record). Pass it in Record.ID; Append then uses it.
func NewID() string {
	global.Lock()
	defer global.Unlock()
	id, err := global.g.next(time.Now())
	if err != nil {
		panic(err) // the year 10889
	}
	return id
}

// ValidID reports whether s has the form of a record id: 26 characters of
// Crockford's base32, the first at most '7'.
func ValidID(s string) bool {
	if len(s) != 26 || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(crockford, s[i]) < 0 {
			return false
		}
	}
	return true
}

// idGen makes record IDs: 26 Crockford base32 characters encoding a 48-bit
// Unix millisecond time and 80 random bits. Within one generator, IDs in
// the same millisecond increment the random part, so they stay strictly
// increasing even if the clock stalls or steps back. It is not safe for
// concurrent use.
type idGen struct {
	started bool
	ms      uint64
	hi      uint16 // top 16 of the 80 random bits
	lo      uint64
}

var errIDExhausted = errors.New("record id space exhausted")

func (g *idGen) next(t time.Time) (string, error) {
	ms := uint64(max(t.UnixMilli(), 0))
	if ms >= 1<<48 {
		return "", errIDExhausted
	}
	if g.started && ms <= g.ms {
		g.lo++
		if g.lo == 0 {
			g.hi++
			if g.hi == 0 {
				g.ms++
			}
		}
	} else {
		var r [10]byte
		_, _ = rand.Read(r[:]) // never fails since Go 1.24
		g.started, g.ms = true, ms
		g.hi = binary.BigEndian.Uint16(r[:2])
		g.lo = binary.BigEndian.Uint64(r[2:])
	}
	return encodeID(g.ms<<16|uint64(g.hi), g.lo), nil
}

// encodeID writes the 128-bit value hi:lo as 26 base32 characters, most
// significant first; the first character carries only 3 bits.
func encodeID(hi, lo uint64) string {
	var out [26]byte
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
