package policy

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/warden-dev/warden/internal/core"
)

// Compile parses and validates a policy and builds its decision index. On
// failure it returns [Errors] listing every problem found, each with its
// file:line:col and a hint.
func Compile(src []byte, opts ...Option) (*Policy, error) {
	o := options{source: "policy.yaml", lookupEnv: os.LookupEnv}
	for _, opt := range opts {
		opt(&o)
	}
	if o.baseDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("policy.Compile: %w", err)
		}
		o.baseDir = wd
	}
	c := &compiler{
		decoder: decoder{file: o.source},
		opts:    o,
		p: &Policy{
			source:    o.source,
			baseDir:   o.baseDir,
			resources: map[string]*resource{},
			agents:    map[string]*agent{},
		},
		declared: map[string]bool{},
	}
	body, ok := c.parse(src)
	if ok {
		c.top(body)
	}
	if len(c.probs) > 0 {
		sortProblems(c.probs)
		return nil, c.probs
	}
	sortProblems(c.p.warnings)
	return c.p, nil
}

// sortProblems puts problems in file order, so the first one printed is the
// first one in the file.
func sortProblems(ps []*Problem) {
	slices.SortStableFunc(ps, func(a, b *Problem) int {
		if a.Pos.Line != b.Pos.Line {
			return cmp.Compare(a.Pos.Line, b.Pos.Line)
		}
		return cmp.Compare(a.Pos.Col, b.Pos.Col)
	})
}

type compiler struct {
	decoder
	opts options
	p    *Policy
	// declared holds every resource name in the file, valid or not, so a
	// broken resource does not also cause "unknown resource" problems.
	declared map[string]bool
}

// Bounds on what a policy file may hold. Both are far above any real policy
// (a typical one nests 7 levels and is a few KiB) and keep a hostile or
// broken file from costing more than a few hundred MiB to reject.
const (
	// MaxPolicyBytes bounds a policy file's size: 8 MiB.
	MaxPolicyBytes = 8 << 20
	// MaxNesting bounds how deeply mappings and lists may nest.
	MaxNesting = 64
)

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)`)

// parse turns the source into a syntax tree, reporting a syntax error, an
// oversized file or too deep a nesting with its position.
func (c *compiler) parse(src []byte) (*yaml.Node, bool) {
	if len(src) > MaxPolicyBytes {
		c.probs = append(c.probs, &Problem{Pos: Pos{File: c.file, Line: 1, Col: 1},
			Msg:  fmt.Sprintf("the policy file is over the limit of %d bytes (8 MiB)", MaxPolicyBytes),
			Hint: "a policy is a few KiB; check that this is the policy file"})
		return nil, false
	}
	// Flow collections ([[[...]]]) nest deepest per byte, so they are
	// measured before the parser builds anything.
	if line, col, ok := flowDepth(src, MaxNesting); !ok {
		c.probs = append(c.probs, c.tooDeep(line, col))
		return nil, false
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.probs = append(c.probs, c.syntaxError(err))
			return nil, false
		}
		if len(doc.Content) > 0 && !(doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].ShortTag() == "!!null" && doc.Content[0].Value == "") {
			docs = append(docs, doc.Content[0])
		}
	}
	switch len(docs) {
	case 0:
		c.probs = append(c.probs, &Problem{Pos: Pos{File: c.file, Line: 1, Col: 1}, Msg: "the policy file is empty", Hint: "start with \"version: 1\"; run \"warden init\" for a commented example"})
		return nil, false
	case 1:
		if n := tooDeep(docs[0], 1); n != nil {
			c.probs = append(c.probs, c.tooDeep(n.Line, n.Column))
			return nil, false
		}
		return docs[0], true
	}
	c.add(docs[1], "", "keep one policy per file", "the file holds %d YAML documents", len(docs))
	return nil, false
}

func (c *compiler) tooDeep(line, col int) *Problem {
	return &Problem{Pos: Pos{File: c.file, Line: line, Col: col},
		Msg:  fmt.Sprintf("mappings and lists nest deeper than %d levels", MaxNesting),
		Hint: "a policy nests a handful of levels; flatten this value"}
}

// parserProblems are the problems the YAML library's parser (not its
// scanner) reports: it gives their line 0-based, at the start of the
// collection being parsed.
var parserProblems = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"did not find expected '-' indicator", "did not find expected <document start>",
	"did not find expected <stream-start>", "did not find expected key",
	"did not find expected node content", "found duplicate %TAG directive",
	"found duplicate %YAML directive", "found incompatible YAML document",
	"found undefined tag handle",
}

// syntaxError turns the parser's error into a positioned problem.
func (c *compiler) syntaxError(err error) *Problem {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 1 // the library leaves the line out when it is the first
	if m := yamlErrLine.FindStringSubmatch("yaml: " + msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if slices.Contains(parserProblems, msg) {
			line++
		}
	}
	if strings.HasPrefix(msg, "exceeded max depth") {
		// The library's own bound (10,000 levels), reached by block nesting.
		return c.tooDeep(line, 0)
	}
	return &Problem{Pos: Pos{File: c.file, Line: line}, Msg: "not valid YAML: " + msg}
}

// tooDeep returns the first node nested deeper than MaxNesting, or nil.
func tooDeep(n *yaml.Node, depth int) *yaml.Node {
	if n.Kind != yaml.MappingNode && n.Kind != yaml.SequenceNode {
		return nil
	}
	if depth > MaxNesting {
		return n
	}
	for _, child := range n.Content {
		if d := tooDeep(child, depth+1); d != nil {
			return d
		}
	}
	return nil
}

// flowDepth reports where flow collections ("[", "{") in src first nest
// deeper than limit, or ok. It skips comments and quoted scalars the way
// YAML writes them; text it misreads can only make it count less, which
// the parser's own bound and the tree check after parsing still catch.
func flowDepth(src []byte, limit int) (line, col int, ok bool) {
	depth := 0
	line, col = 1, 0
	var quote byte     // ' or " while inside a quoted scalar
	prev := byte('\n') // the byte before, outside quotes
	for i := 0; i < len(src); i++ {
		b := src[i]
		col++
		if b == '\n' {
			line, col = line+1, 0
		}
		switch {
		case quote == '"':
			if b == '\\' {
				i++
				col++
			} else if b == '"' {
				quote = 0
			}
			continue
		case quote == '\'':
			if b == '\'' {
				if i+1 < len(src) && src[i+1] == '\'' {
					i++
					col++
				} else {
					quote = 0
				}
			}
			continue
		}
		switch b {
		case '#':
			if prev == ' ' || prev == '\t' || prev == '\n' {
				for i+1 < len(src) && src[i+1] != '\n' {
					i++
				}
			}
		case '"', '\'':
			if strings.IndexByte(" \t\n[{,:-?", prev) >= 0 {
				quote = b
			}
		case '[', '{':
			depth++
			if depth > limit {
				return line, col, false
			}
		case ']', '}':
			depth = max(depth-1, 0)
		}
		prev = b
	}
	return 0, 0, true
}

func (c *compiler) top(n *yaml.Node) {
	fields, ok := c.mapping(n, "", "the policy", []string{"version", "settings", "resources", "agents"})
	if !ok {
		return
	}
	byKey := map[string]field{}
	for _, f := range fields {
		byKey[f.key] = f
	}
	if f, ok := byKey["version"]; !ok {
		c.probs = append(c.probs, &Problem{Pos: Pos{File: c.file, Line: 1, Col: 1}, Path: "version", Msg: "the policy has no version", Hint: `add "version: 1" at the top`})
	} else if v, ok := c.integer(f.val, f.path, "version", 0, 1<<31); ok && v != 1 {
		c.add(f.val, f.path, "this Warden understands version: 1", "unsupported policy version %d", v)
	}
	c.settings(byKey["settings"])
	if f, ok := byKey["resources"]; ok && f.val != nil {
		c.resources(f)
	} else {
		c.probs = append(c.probs, &Problem{Pos: Pos{File: c.file, Line: 1, Col: 1}, Path: "resources", Msg: "the policy declares no resources", Hint: "declare at least one resource under resources:"})
	}
	if f, ok := byKey["agents"]; ok && f.val != nil {
		c.agents(f)
	} else {
		c.probs = append(c.probs, &Problem{Pos: Pos{File: c.file, Line: 1, Col: 1}, Path: "agents", Msg: "the policy declares no agents", Hint: "declare at least one agent under agents:"})
	}
}

func (c *compiler) settings(f field) {
	s := Settings{
		StateDir:         filepath.Join(c.opts.baseDir, ".warden"),
		ApprovalTTL:      DefaultApprovalTTL,
		Elicitation:      true,
		AuditSync:        "interval",
		MaxArgumentBytes: DefaultMaxArgumentBytes,
		MaxResultBytes:   DefaultMaxResultBytes,
		JournalMaxBytes:  DefaultJournalMaxBytes,
		JournalMaxAge:    DefaultJournalMaxAge,
		Landlock:         true,
	}
	defer func() { c.p.settings = s }()
	if f.val == nil {
		return
	}
	fields, _ := c.mapping(f.val, f.path, "settings", []string{"state_dir", "approvals", "audit", "limits", "journal", "landlock", "strict_resources", "egress"})
	for _, sf := range fields {
		switch sf.key {
		case "state_dir":
			if v, ok := c.str(sf.val, sf.path, "state_dir"); ok {
				s.StateDir = c.abs(v)
			}
		case "approvals":
			sub, _ := c.mapping(sf.val, sf.path, "approvals", []string{"ttl", "elicitation"})
			for _, a := range sub {
				switch a.key {
				case "ttl":
					if v, ok := c.duration(a.val, a.path, "approvals.ttl", 10e9, 7*24*3600e9); ok {
						s.ApprovalTTL = v
					}
				case "elicitation":
					if v, ok := c.boolean(a.val, a.path, "approvals.elicitation"); ok {
						s.Elicitation = v
					}
				}
			}
		case "audit":
			sub, _ := c.mapping(sf.val, sf.path, "audit", []string{"sync", "key"})
			for _, a := range sub {
				switch a.key {
				case "sync":
					if v, ok := c.str(a.val, a.path, "audit.sync"); ok {
						if v != "interval" && v != "always" {
							c.add(a.val, a.path, `use "interval" or "always"`, "unknown audit sync mode %q", v)
						} else {
							s.AuditSync = v
						}
					}
				case "key":
					s.AuditKey, _ = c.secret(a.val, a.path, "audit.key")
				}
			}
		case "journal":
			sub, _ := c.mapping(sf.val, sf.path, "journal", []string{"max_bytes", "max_age"})
			for _, a := range sub {
				switch a.key {
				case "max_bytes":
					if v, ok := c.size(a.val, a.path, "journal.max_bytes", 1<<20, 1<<50); ok {
						s.JournalMaxBytes = v
					}
				case "max_age":
					if v, ok := c.duration(a.val, a.path, "journal.max_age", 3600e9, 10*365*24*3600e9); ok {
						s.JournalMaxAge = v
					}
				}
			}
		case "landlock":
			if v, ok := c.boolean(sf.val, sf.path, "landlock"); ok {
				s.Landlock = v
			}
		case "strict_resources":
			if v, ok := c.boolean(sf.val, sf.path, "strict_resources"); ok {
				s.StrictResources = v
			}
		case "egress":
			s.TLSInspection = c.egress(sf)
		case "limits":
			sub, _ := c.mapping(sf.val, sf.path, "limits", []string{"max_argument_bytes", "max_result_bytes"})
			for _, a := range sub {
				switch a.key {
				case "max_argument_bytes":
					if v, ok := c.size(a.val, a.path, "max_argument_bytes", 1024, 64<<20); ok {
						s.MaxArgumentBytes = v
					}
				case "max_result_bytes":
					if v, ok := c.size(a.val, a.path, "max_result_bytes", 1024, 1<<30); ok {
						s.MaxResultBytes = v
					}
				}
			}
		}
	}
}

// abs resolves a path from the policy against the policy's directory.
// egress reads settings.egress: {tls_inspection: {ca: file:CERT, key:
// file:KEY}}, both secret references, checked to load as a CA and its key.
func (c *compiler) egress(f field) *TLSInspection {
	sub, _ := c.mapping(f.val, f.path, "egress", []string{"tls_inspection"})
	var out *TLSInspection
	for _, e := range sub {
		ti, _ := c.mapping(e.val, e.path, "tls_inspection", []string{"ca", "key"})
		var ca, key core.Secret
		var okCA, okKey bool
		for _, k := range ti {
			switch k.key {
			case "ca":
				ca, okCA = c.secret(k.val, k.path, "tls_inspection.ca")
			case "key":
				key, okKey = c.secret(k.val, k.path, "tls_inspection.key")
			}
		}
		if len(ti) < 2 {
			c.add(e.val, e.path, "write tls_inspection: {ca: file:ca.pem, key: file:ca-key.pem}", "tls_inspection needs both ca and key")
			continue
		}
		if !okCA || !okKey {
			continue
		}
		if msg := checkCA([]byte(ca.Reveal()), []byte(key.Reveal())); msg != "" {
			c.add(e.val, e.path, "give a CA certificate (basic constraints CA:true) and its private key, both PEM", "%s", msg)
			continue
		}
		out = &TLSInspection{CertPEM: []byte(ca.Reveal()), Key: key}
	}
	return out
}

// checkCA says what is wrong with a CA certificate and key pair, or "".
func checkCA(certPEM, keyPEM []byte) string {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return "the certificate and key do not load as a pair"
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil || !cert.IsCA || cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return "the certificate is not a CA that may sign certificates"
	}
	return ""
}

func (c *compiler) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(c.opts.baseDir, p)
}

// secret resolves a secret reference. Inline values are refused: a policy
// file is often committed, shared and printed.
func (c *compiler) secret(n *yaml.Node, path, what string) (core.Secret, bool) {
	ref, ok := c.str(n, path, what)
	if !ok {
		return core.Secret{}, false
	}
	v, err := resolveSecret(ref, c.opts.baseDir, c.opts.lookupEnv)
	if err != nil {
		hint := ""
		if !core.IsSecretRef(ref) {
			hint = "write env:NAME or file:PATH and keep the value there"
		}
		// Never echo the value: the message names only the reference.
		c.add(n, path, hint, "%v", err)
		return core.Secret{}, false
	}
	s := core.NewSecret(ref, v)
	c.p.secrets = append(c.p.secrets, s)
	if f, ok := strings.CutPrefix(ref, "file:"); ok {
		c.p.secretFiles = append(c.p.secretFiles, c.abs(f))
	}
	return s, true
}
