package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/jsonschema-go/jsonschema"

	"github.com/warden-dev/warden/internal/core"
)

// Bounds on what one OpenAPI document can make Warden do at load.
const (
	maxOpenAPIBytes = 16 << 20
	// maxSchemaDepth cuts recursive schemas (a tree node whose children
	// are tree nodes): deeper levels accept any value.
	maxSchemaDepth = 10
	// maxSchemaNodes bounds one tool's schema, so a document whose
	// schemas fan out cannot produce a schema of millions of nodes.
	maxSchemaNodes = 2000
	maxOpNameLen   = 32
	maxSummaryLen  = 300
)

// anyType is the "type" of an argument whose OpenAPI schema names none:
// the tool schema must give every argument a type.
var anyType = []string{"string", "number", "integer", "boolean", "object", "array", "null"}

// argName is what the model providers accept as a property name.
var argName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// apiOperation is one OpenAPI operation offered as its own tool.
type apiOperation struct {
	method   string
	template []tmplPart // the document's path, such as /forecast/{city}
	params   []apiParam
	args     map[string]bool // every argument name, for refusing unknown ones
	body     bool            // takes a JSON body as the "body" argument
	required []string        // the required arguments
}

// tmplPart is a literal piece of a path template or one parameter.
type tmplPart struct {
	lit   string
	param int // the parameter's index in apiOperation.params; -1 for a literal
}

// apiParam is one path, query or header parameter.
type apiParam struct {
	arg      string // the argument's name in the tool's schema
	name     string // the parameter's name on the wire
	in       string // "path", "query" or "header"
	required bool
	style    string // "simple", "form", "spaceDelimited", "pipeDelimited" or "deepObject"
	explode  bool
	json     bool // declared with content application/json: sent as JSON text
}

// loadOpenAPI reads an OpenAPI 3 document and makes each of its operations
// a tool. The document's servers are ignored: the resource's base URL is
// the server, and every operation's path is taken under its base path.
func (c *Connector) loadOpenAPI(file string) error {
	doc, err := readOpenAPI(file)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	maxName := max(8, min(maxOpNameLen, 63-len(c.resource))) // "<resource>_<op>" is at most 64 bytes
	c.api = map[string]*apiOperation{}
	c.ops = nil
	from := map[string]string{} // op name -> "METHOD /path", for naming duplicates
	paths := doc.Paths.Keys()
	sort.Strings(paths)
	for _, p := range paths {
		item := doc.Paths.Value(p)
		if item == nil {
			continue
		}
		for _, m := range methods {
			o := item.GetOperation(m)
			if o == nil {
				continue
			}
			where := m + " " + p
			name, err := opNameFor(o.OperationID, m, p, maxName)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", file, where, err)
			}
			if prev, ok := from[name]; ok {
				return fmt.Errorf("%s: %s and %s both become the tool %q; give them distinct operationIds", file, prev, where, name)
			}
			op, a, err := c.apiOp(name, m, p, item, o)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", file, where, err)
			}
			from[name] = where
			c.ops = append(c.ops, op)
			c.api[name] = a
		}
	}
	if len(c.ops) == 0 {
		return fmt.Errorf("%s: the document has no operation Warden can offer (%s)", file, strings.Join(methods, ", "))
	}
	return nil
}

// readOpenAPI loads and validates one self-contained OpenAPI 3 document,
// YAML or JSON. It reads no other file and makes no network request.
func readOpenAPI(file string) (*openapi3.T, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read the document: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxOpenAPIBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the document: %w", err)
	}
	if len(data) > maxOpenAPIBytes {
		return nil, fmt.Errorf("the document is over %d bytes", maxOpenAPIBytes)
	}
	l := openapi3.NewLoader()
	l.IsExternalRefsAllowed = false
	doc, err := l.LoadFromDataWithPath(data, &url.URL{Path: filepath.ToSlash(file)})
	if err != nil {
		var ext *openapi3.DisallowedExternalRefError
		if errors.As(err, &ext) {
			return nil, fmt.Errorf("the $ref %q points outside the document; Warden reads one self-contained document, so bundle it first", ext.Ref)
		}
		return nil, fmt.Errorf("not a readable OpenAPI document: %w", err)
	}
	if _, ok := doc.Extensions["swagger"]; ok || strings.HasPrefix(doc.OpenAPI, "2") {
		return nil, errors.New("this is a Swagger (OpenAPI 2) document; convert it to OpenAPI 3 first")
	}
	if !doc.IsOpenAPI30() && !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("unsupported OpenAPI version %q; Warden reads OpenAPI 3 documents", doc.OpenAPI)
	}
	// ECMA-262 patterns Go cannot compile (lookahead) and examples that do
	// not fit their schema are common in published documents and harmless
	// here: such patterns are left out of the tools' schemas and such
	// examples are not shown.
	if err := doc.Validate(context.Background(), openapi3.DisableSchemaPatternValidation(), openapi3.DisableExamplesValidation()); err != nil {
		// kin-openapi appends the offending schema and value on further
		// lines; the first names the problem and where it is.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return nil, fmt.Errorf("not a valid OpenAPI document: %s", msg)
	}
	return doc, nil
}

// opNameFor derives an operation's name: its operationId in snake_case,
// or, without one, its method and path (GET /users/{id} is get_users_id).
func opNameFor(id, method, path string, maxLen int) (string, error) {
	name := snake(id)
	if name == "" {
		words := []string{strings.ToLower(method)}
		for seg := range strings.SplitSeq(path, "/") {
			words = append(words, snake(strings.Trim(seg, "{}")))
		}
		name = snake(strings.Join(words, "_"))
	}
	if name != "" && name[0] >= '0' && name[0] <= '9' {
		name = "op_" + name
	}
	if len(name) > maxLen {
		// Generated documents give long ids that differ only at the end
		// (api_things_child_objects_get_id, api_things_details_get_id):
		// a hash of the whole name keeps the cut names apart.
		h := fnv.New32a()
		h.Write([]byte(name))
		suffix := fmt.Sprintf("_%06x", h.Sum32()&0xffffff)
		name = strings.TrimRight(name[:max(1, maxLen-len(suffix))], "_") + suffix
	}
	if name == "" || !opNamePattern.MatchString(name) {
		return "", fmt.Errorf("cannot make a tool name from operationId %q", id)
	}
	return name, nil
}

var opNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// snake turns an identifier (getForecast, list-users, HTTPServer) into
// lower snake_case of ASCII letters and digits.
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	lower := func(r rune) bool { return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' }
	upper := func(r rune) bool { return r >= 'A' && r <= 'Z' }
	for i, r := range rs {
		switch {
		case upper(r):
			if i > 0 && (lower(rs[i-1]) || upper(rs[i-1]) && i+1 < len(rs) && rs[i+1] >= 'a' && rs[i+1] <= 'z') {
				b.WriteByte('_')
			}
			b.WriteRune(r + 'a' - 'A')
		case lower(r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	for strings.Contains(out, "__") {
		out = strings.ReplaceAll(out, "__", "_")
	}
	return strings.Trim(out, "_")
}

// apiOp builds one operation's tool description and call plan.
func (c *Connector) apiOp(name, method, path string, item *openapi3.PathItem, o *openapi3.Operation) (core.Operation, *apiOperation, error) {
	a := &apiOperation{method: method, args: map[string]bool{}}
	params := c.collectParams(item, o)
	sc := &schemaConv{}
	props := map[string]any{}
	// "body" is the body's name whatever the parameters are called. A GET
	// or HEAD body is not offered: build refuses it.
	bodyRequired := false
	if rb := o.RequestBody; rb != nil && rb.Value != nil && method != "GET" && method != "HEAD" {
		if mt := rb.Value.Content.Get("application/json"); mt != nil {
			a.body, bodyRequired = true, rb.Value.Required
			a.args["body"] = true
			node := sc.top(mt.Schema)
			node["description"] = describe(rb.Value.Description, node["description"], "The JSON request body.")
			props["body"] = node
		}
	}
	// Path parameters keep their names first, then query, then header ones.
	for _, in := range []string{"path", "query", "header"} {
		for _, p := range params {
			if p.In != in {
				continue
			}
			ap, node, err := planParam(p, sc)
			if err != nil {
				return core.Operation{}, nil, err
			}
			arg := argFor(p.Name)
			if a.args[arg] {
				arg = argFor(in + "_" + p.Name)
			}
			if a.args[arg] {
				return core.Operation{}, nil, fmt.Errorf("the %s parameter %q has the same argument name as another parameter", in, p.Name)
			}
			ap.arg = arg
			a.args[arg] = true
			props[arg] = node
			a.params = append(a.params, ap)
			if ap.required {
				a.required = append(a.required, arg)
			}
		}
	}
	if bodyRequired {
		a.required = append(a.required, "body")
	}
	tmpl, err := parseTemplate(path, a.params)
	if err != nil {
		return core.Operation{}, nil, err
	}
	a.template = tmpl
	schema := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"type":                 "object",
		"additionalProperties": false,
		"properties":           props,
		"required":             append([]string{}, a.required...),
	}
	raw, err := json.Marshal(schema)
	if err != nil {
		return core.Operation{}, nil, fmt.Errorf("input schema: %w", err)
	}
	target := c.basePath + strings.TrimPrefix(path, "/")
	op := core.Operation{
		Name:        name,
		Action:      method,
		Target:      target,
		Summary:     apiSummary(o, method, target),
		InputSchema: raw,
		ReadOnly:    core.SafeHTTPMethod(method),
	}
	return op, a, nil
}

// collectParams merges the path item's parameters with the operation's,
// which override those of the same name and location. Cookie parameters,
// the credential's own header or query parameter, and headers Warden
// refuses are left out: the agent could never send them.
func (c *Connector) collectParams(item *openapi3.PathItem, o *openapi3.Operation) []*openapi3.Parameter {
	var out []*openapi3.Parameter
	add := func(refs openapi3.Parameters) {
		for _, ref := range refs {
			if ref == nil || ref.Value == nil {
				continue
			}
			p := ref.Value
			i := slices.IndexFunc(out, func(q *openapi3.Parameter) bool { return q.In == p.In && q.Name == p.Name })
			if i >= 0 {
				out[i] = p
			} else {
				out = append(out, p)
			}
		}
	}
	add(item.Parameters)
	add(o.Parameters)
	authHeader, authParam := "", ""
	if c.auth != nil {
		authHeader = c.authName
		if c.auth.Scheme == "query" {
			authParam = c.auth.Name
		}
	}
	return slices.DeleteFunc(out, func(p *openapi3.Parameter) bool {
		switch p.In {
		case "header":
			// OpenAPI says these three are not parameters.
			switch textproto.CanonicalMIMEHeaderKey(p.Name) {
			case "Accept", "Content-Type", "Authorization":
				return true
			}
			_, err := checkHeader(p.Name, "", authHeader)
			return err != nil
		case "query":
			return p.Name == authParam
		case "path":
			return false
		}
		return true // cookie
	})
}

// planParam plans one parameter and converts its schema.
func planParam(p *openapi3.Parameter, sc *schemaConv) (apiParam, map[string]any, error) {
	ap := apiParam{name: p.Name, in: p.In, required: p.Required || p.In == "path", style: p.Style}
	schema := p.Schema
	if schema == nil && len(p.Content) > 0 {
		types := slices.Sorted(func(yield func(string) bool) {
			for k := range p.Content {
				if !yield(k) {
					return
				}
			}
		})
		if mt := p.Content[types[0]]; mt != nil {
			schema = mt.Schema
		}
		ap.json = strings.Contains(strings.ToLower(types[0]), "json")
	}
	if ap.style == "" {
		ap.style = "simple"
		if p.In == "query" {
			ap.style = "form"
		}
	}
	ap.explode = ap.style == "form"
	if p.Explode != nil {
		ap.explode = *p.Explode
	}
	ok := false
	switch p.In {
	case "path", "header":
		ok = ap.style == "simple"
	case "query":
		ok = slices.Contains([]string{"form", "spaceDelimited", "pipeDelimited", "deepObject"}, ap.style)
	}
	if !ok {
		return ap, nil, fmt.Errorf("the %s parameter %q has style %q, which Warden does not send", p.In, p.Name, ap.style)
	}
	node := sc.top(schema)
	node["description"] = describe(p.Description, node["description"], fmt.Sprintf("The %s parameter %s.", p.In, p.Name))
	if p.Deprecated {
		node["deprecated"] = true
	}
	return ap, node, nil
}

// argFor makes a parameter name a valid argument name.
func argFor(name string) string {
	if argName.MatchString(name) {
		return name
	}
	b := []byte(name)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '.' || ch == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// describe returns the first non-empty description, whitespace collapsed.
func describe(first string, schema any, fallback string) string {
	s, _ := schema.(string)
	for _, d := range []string{first, s} {
		if d = strings.Join(strings.Fields(d), " "); d != "" {
			return d
		}
	}
	return fallback
}

// parseTemplate splits a document path into literals and parameters, each
// of which must be declared. Literals are taken as they are: one that
// would change the path's structure (a dot segment, an escape, a query)
// is refused here rather than at every call.
func parseTemplate(path string, params []apiParam) ([]tmplPart, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("the path does not start with /")
	}
	if strings.ContainsAny(path, "%?#\\") || strings.Contains(path, "//") {
		return nil, fmt.Errorf("the path contains %%, ?, #, \\ or //; Warden needs plain path templates")
	}
	for i := 0; i < len(path); i++ {
		if path[i] < 0x20 || path[i] == 0x7f {
			return nil, fmt.Errorf("the path contains a control character")
		}
	}
	for seg := range strings.SplitSeq(path[1:], "/") {
		if seg == "." || seg == ".." {
			return nil, fmt.Errorf("the path has a . or .. segment")
		}
	}
	var parts []tmplPart
	rest := path[1:] // relative to the base path
	for rest != "" {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			parts = append(parts, tmplPart{lit: rest, param: -1})
			break
		}
		if rest[i] == '}' {
			return nil, fmt.Errorf("the path has an unmatched }")
		}
		if i > 0 {
			parts = append(parts, tmplPart{lit: rest[:i], param: -1})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("the path has an unmatched {")
		}
		name := rest[i+1 : i+j]
		k := slices.IndexFunc(params, func(p apiParam) bool { return p.in == "path" && p.name == name })
		if k < 0 {
			return nil, fmt.Errorf("the path parameter {%s} is not declared", name)
		}
		parts = append(parts, tmplPart{param: k})
		rest = rest[i+j+1:]
	}
	return parts, nil
}

// apiSummary is the operation's summary (or the start of its
// description) and the request it sends.
func apiSummary(o *openapi3.Operation, method, target string) string {
	text := strings.Join(strings.Fields(o.Summary), " ")
	if text == "" {
		text = strings.Join(strings.Fields(o.Description), " ")
	}
	text = sentences(text, 2)
	if utf8.RuneCountInString(text) > maxSummaryLen {
		text = string([]rune(text)[:maxSummaryLen-1]) + "…"
	}
	if text != "" && !strings.HasSuffix(text, ".") && !strings.HasSuffix(text, "!") && !strings.HasSuffix(text, "?") && !strings.HasSuffix(text, "…") {
		text += "."
	}
	s := strings.TrimSpace(text + " Sends " + method + " " + target + ".")
	if o.Deprecated {
		s += " Deprecated."
	}
	return s
}

// sentences returns the first n sentences of s: a sentence ends with
// ".", "!" or "?" and a space ("e.g" and "v1.2" do not end one).
func sentences(s string, n int) string {
	for i := 0; i < len(s)-1; i++ {
		if strings.IndexByte(".!?", s[i]) >= 0 && s[i+1] == ' ' {
			if n--; n == 0 {
				return s[:i+1]
			}
		}
	}
	return s
}

// schemaConv converts OpenAPI schemas into JSON Schema 2020-12 that the
// tool schema checker and the pipeline's validator accept: keywords
// outside that subset (discriminator, xml, 3.1's conditionals) are
// dropped, which makes the tool's schema looser, never stricter, than the
// API's; the API still validates its own input.
type schemaConv struct {
	nodes int
	open  map[*openapi3.Schema]bool // the schemas being converted: a cycle's ancestors
}

// top converts a parameter's or body's schema and makes sure it states a
// type, as every argument of a tool must.
func (sc *schemaConv) top(ref *openapi3.SchemaRef) map[string]any {
	node, ok := sc.convert(ref, 0).(map[string]any)
	if !ok { // a boolean schema
		node = map[string]any{}
	}
	if _, ok := node["type"]; !ok {
		// Any type: a narrower guess could contradict the schema's
		// default or enum, which were checked without one.
		node["type"] = slices.Clone(anyType)
	}
	return node
}

// convert converts one schema; it returns a map or a boolean schema.
func (sc *schemaConv) convert(ref *openapi3.SchemaRef, depth int) any {
	if ref == nil || ref.Value == nil || depth > maxSchemaDepth || sc.nodes >= maxSchemaNodes {
		return map[string]any{}
	}
	sc.nodes++
	s := ref.Value
	if s.Always != nil {
		return *s.Always
	}
	out := map[string]any{}
	types := slices.Clone(s.Type.Slice())
	if s.Nullable && len(types) > 0 && !slices.Contains(types, "null") {
		types = append(types, "null")
	}
	switch len(types) {
	case 0:
	case 1:
		out["type"] = types[0]
	default:
		out["type"] = types
	}
	// A recursive schema (a tree's node) is spelled out once; where it
	// recurs, its type and a note stand for it.
	if sc.open[s] {
		out["description"] = "Recursive: the same structure as the enclosing value."
		return out
	}
	if sc.open == nil {
		sc.open = map[*openapi3.Schema]bool{}
	}
	sc.open[s] = true
	defer delete(sc.open, s)
	for k, v := range map[string]string{"title": s.Title, "description": s.Description, "format": s.Format} {
		if v = strings.TrimSpace(v); v != "" {
			out[k] = v
		}
	}
	if s.Deprecated {
		out["deprecated"] = true
	}

	// Numbers. OpenAPI 3.0's exclusiveMinimum is a flag on minimum; 3.1's
	// is the bound itself, as in JSON Schema 2020-12.
	if s.Min != nil {
		if s.ExclusiveMin.IsTrue() {
			out["exclusiveMinimum"] = *s.Min
		} else {
			out["minimum"] = *s.Min
		}
	}
	if s.ExclusiveMin.Value != nil {
		out["exclusiveMinimum"] = *s.ExclusiveMin.Value
	}
	if s.Max != nil {
		if s.ExclusiveMax.IsTrue() {
			out["exclusiveMaximum"] = *s.Max
		} else {
			out["maximum"] = *s.Max
		}
	}
	if s.ExclusiveMax.Value != nil {
		out["exclusiveMaximum"] = *s.ExclusiveMax.Value
	}
	if s.MultipleOf != nil && *s.MultipleOf > 0 {
		out["multipleOf"] = *s.MultipleOf
	}
	if s.Min != nil && s.Max != nil && *s.Min > *s.Max {
		delete(out, "minimum")
		delete(out, "maximum")
	}

	// Strings.
	bounds(out, "minLength", "maxLength", s.MinLength, s.MaxLength)
	if s.Pattern != "" {
		// ECMA-262 patterns Go cannot compile are dropped, not guessed at.
		if _, err := regexp.Compile(s.Pattern); err == nil {
			out["pattern"] = s.Pattern
		}
	}

	// Arrays.
	bounds(out, "minItems", "maxItems", s.MinItems, s.MaxItems)
	if s.UniqueItems {
		out["uniqueItems"] = true
	}
	if s.Items != nil {
		out["items"] = sc.convert(s.Items, depth+1)
	}

	// Objects. A readOnly property is never sent in a request.
	if len(s.Properties) > 0 {
		props := map[string]any{}
		for _, name := range slices.Sorted(func(yield func(string) bool) {
			for k := range s.Properties {
				if !yield(k) {
					return
				}
			}
		}) {
			p := s.Properties[name]
			if p != nil && p.Value != nil && p.Value.ReadOnly {
				continue
			}
			props[name] = sc.convert(p, depth+1)
		}
		out["properties"] = props
	}
	closed := s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has
	if closed {
		out["additionalProperties"] = false
	} else if s.AdditionalProperties.Schema != nil {
		out["additionalProperties"] = sc.convert(s.AdditionalProperties.Schema, depth+1)
	}
	if len(s.Required) > 0 {
		props, _ := out["properties"].(map[string]any)
		var req []string
		for _, r := range s.Required {
			if _, declared := props[r]; slices.Contains(req, r) || !declared && (closed || s.Properties[r] != nil) {
				continue // listed twice, read-only, or impossible
			}
			req = append(req, r)
		}
		if len(req) > 0 {
			out["required"] = req
		}
	}
	bounds(out, "minProperties", "maxProperties", s.MinProps, s.MaxProps)

	// Composition.
	for k, list := range map[string]openapi3.SchemaRefs{"allOf": s.AllOf, "anyOf": s.AnyOf, "oneOf": s.OneOf} {
		if len(list) == 0 {
			continue
		}
		subs := make([]any, len(list))
		for i, sub := range list {
			subs[i] = sc.convert(sub, depth+1)
		}
		out[k] = subs
	}
	if s.Not != nil {
		out["not"] = sc.convert(s.Not, depth+1)
	}

	// Values, each kept only if the schema accepts it, as the tool schema
	// checker demands; a document's inconsistent example is not Warden's
	// to enforce.
	if s.Const != nil {
		if v, ok := jsonValue(s.Const); ok {
			out["const"] = v
		}
	}
	if len(s.Enum) > 0 {
		if enum := accepted(out, s.Enum); len(enum) > 0 {
			out["enum"] = enum
		}
	}
	if s.Default != nil {
		if d := accepted(out, []any{s.Default}); len(d) == 1 {
			out["default"] = d[0]
		}
	}
	examples := s.Examples
	if s.Example != nil {
		examples = append([]any{s.Example}, examples...)
	}
	if ex := accepted(out, examples); len(ex) > 0 {
		out["examples"] = ex
	}
	return out
}

// bounds sets a min/max pair of counts, dropping both if they contradict.
func bounds(out map[string]any, minKey, maxKey string, lo uint64, hi *uint64) {
	if hi != nil && lo > *hi {
		return
	}
	if lo > 0 {
		out[minKey] = lo
	}
	if hi != nil {
		out[maxKey] = *hi
	}
}

// accepted returns the values node accepts, as JSON values.
func accepted(node map[string]any, values []any) []any {
	if len(values) == 0 {
		return nil
	}
	b, err := json.Marshal(node)
	if err != nil {
		return nil
	}
	var s jsonschema.Schema
	if json.Unmarshal(b, &s) != nil {
		return nil
	}
	rs, err := s.Resolve(nil)
	if err != nil {
		return nil
	}
	var out []any
	for _, v := range values {
		if jv, ok := jsonValue(v); ok && rs.Validate(jv) == nil {
			out = append(out, jv)
		}
	}
	return out
}

// jsonValue turns a value decoded from YAML into its JSON form.
func jsonValue(v any) (any, bool) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return nil, false
	}
	return out, true
}

// prepareAPI builds the request of one OpenAPI operation from its
// arguments. Every path parameter fills exactly one path segment (or
// part of one), percent-encoded, so a value such as "../admin" or "a/b"
// cannot add segments; build then checks the whole request as it checks
// the generic tool's.
func (c *Connector) prepareAPI(a *apiOperation, raw json.RawMessage) (*request, error) {
	const op = "http.prepare"
	invalid := func(format string, args ...any) error {
		return core.Errorf(op, core.KindInvalid, core.ReasonInvalidArguments, "The arguments are not valid: "+format+".", args...)
	}
	args := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, invalid("%v", err)
		}
	}
	for k, v := range args {
		if !a.args[k] {
			return nil, invalid("unknown argument %q", k)
		}
		if string(bytes.TrimSpace(v)) == "null" {
			delete(args, k) // null leaves an optional parameter out
		}
	}
	for _, r := range a.required {
		if _, ok := args[r]; !ok {
			return nil, invalid("the argument %q is required", r)
		}
	}

	values := make([][]pair, len(a.params))
	query := url.Values{}
	headers := map[string]string{}
	for i, p := range a.params {
		v, ok := args[p.arg]
		if !ok {
			continue
		}
		pairs, err := p.serialize(v)
		if err != nil {
			return nil, invalid("%v", err)
		}
		for _, kv := range pairs {
			if err := checkText("value of "+p.in+" parameter "+p.name, kv.value); err != nil {
				return nil, err
			}
		}
		values[i] = pairs
		switch p.in {
		case "query":
			for _, kv := range pairs {
				query[kv.name] = append(query[kv.name], kv.value)
			}
		case "header":
			headers[p.name] = pairs[0].value
		}
	}

	var path strings.Builder
	for _, part := range a.template {
		if part.param < 0 {
			path.WriteString(part.lit)
			continue
		}
		p := a.params[part.param]
		v := ""
		if len(values[part.param]) > 0 {
			v = values[part.param][0].value
		}
		if v == "" || v == "." || v == ".." {
			return nil, fmt.Errorf("the path parameter %s may not be empty, \".\" or \"..\"", p.name)
		}
		path.WriteString(url.PathEscape(v))
	}

	var body json.RawMessage
	if a.body {
		body = args["body"]
	}
	r, err := c.build(a.method, path.String(), query, headers, body)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		// build sends a JSON string as text; this operation's body is JSON
		// whatever its value.
		var buf bytes.Buffer
		if err := json.Compact(&buf, body); err != nil {
			return nil, fmt.Errorf("the body is not valid JSON")
		}
		r.body, r.bodyType = buf.Bytes(), "application/json"
	}
	return r, nil
}

// pair is one name and value on the wire.
type pair struct{ name, value string }

// serialize turns an argument into the parameter's wire form, following
// its style: a scalar is one value; an array repeats a form-exploded query
// parameter and is otherwise joined ("a,b"); an object's keys become
// parameters (form, exploded), name[key] parameters (deepObject) or part
// of the value ("k,v" or "k=v"). Path and header parameters have one value.
func (p *apiParam) serialize(raw json.RawMessage) ([]pair, error) {
	if p.json {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, fmt.Errorf("%s is not valid JSON", p.arg)
		}
		return []pair{{p.name, buf.String()}}, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON", p.arg)
	}
	sep := ","
	switch p.style {
	case "spaceDelimited":
		sep = " "
	case "pipeDelimited":
		sep = "|"
	}
	switch x := v.(type) {
	case []any:
		items := make([]string, len(x))
		for i, item := range x {
			s, ok := scalarText(item)
			if !ok {
				return nil, fmt.Errorf("the items of %s must be strings, numbers or booleans", p.arg)
			}
			items[i] = s
		}
		if p.in == "query" && p.style == "form" && p.explode {
			out := make([]pair, len(items))
			for i, s := range items {
				out[i] = pair{p.name, s}
			}
			return out, nil
		}
		return []pair{{p.name, strings.Join(items, sep)}}, nil
	case map[string]any:
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range x {
				if !yield(k) {
					return
				}
			}
		})
		var out, flat []pair
		for _, k := range keys {
			s, ok := scalarText(x[k])
			if !ok {
				return nil, fmt.Errorf("the values of %s must be strings, numbers or booleans", p.arg)
			}
			switch {
			case p.in == "query" && p.style == "deepObject":
				out = append(out, pair{p.name + "[" + k + "]", s})
			case p.in == "query" && p.explode:
				out = append(out, pair{k, s})
			}
			flat = append(flat, pair{k, s})
		}
		if out != nil || p.in == "query" && (p.style == "deepObject" || p.explode) {
			return out, nil
		}
		parts := make([]string, 0, 2*len(flat))
		for _, kv := range flat {
			if p.explode {
				parts = append(parts, kv.name+"="+kv.value)
			} else {
				parts = append(parts, kv.name, kv.value)
			}
		}
		return []pair{{p.name, strings.Join(parts, ",")}}, nil
	default:
		s, ok := scalarText(x)
		if !ok {
			return nil, fmt.Errorf("%s must be a string, number, boolean, array or object", p.arg)
		}
		return []pair{{p.name, s}}, nil
	}
}

// scalarText is a scalar's text on the wire: numbers as written.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	}
	return "", false
}
