package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"net/textproto"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi/datamodel"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	v3low "github.com/pb33f/libopenapi/datamodel/low/v3"
	"github.com/pb33f/libopenapi/index"
	"github.com/pb33f/libopenapi/orderedmap"
	"github.com/pb33f/libopenapi/utils"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/names"
)

// Bounds on what one OpenAPI document can make Warden do at load.
const (
	maxOpenAPIBytes = 16 << 20
	// maxOpenAPIDepth bounds how deeply the document nests (published
	// documents nest less than 30 deep): libopenapi's cost grows with
	// the square of the depth, a few gigabytes for 10,000.
	maxOpenAPIDepth = 200
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

// apiOperation is one OpenAPI operation offered as its own tool.
type apiOperation struct {
	method   string
	template []tmplPart // the document's path, such as /forecast/{city}
	params   []apiParam
	args     map[string]bool // every argument name, while planning
	// argType is a struct with one field per argument: the parameters'
	// in order, then the body's. argjson.Decode fills it, refusing any
	// other key as every kind does.
	argType  reflect.Type
	body     bool     // takes a JSON body as the "body" argument
	required []string // the required arguments
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
	var re *readError
	switch {
	case errors.As(err, &re):
		return err // it names the file
	case err != nil:
		return fmt.Errorf("%s: %w", file, err)
	}
	maxName := max(8, min(maxOpNameLen, 63-len(c.resource))) // "<resource>_<op>" is at most 64 bytes
	c.api = map[string]*apiOperation{}
	c.ops = nil
	from := map[string]string{} // op name -> "METHOD /path", for naming duplicates
	var paths []string
	if doc.Paths != nil {
		paths = slices.Sorted(doc.Paths.PathItems.KeysFromOldest())
	}
	for _, p := range paths {
		item := doc.Paths.PathItems.GetOrZero(p)
		if item == nil {
			continue
		}
		for _, m := range methods {
			o := operationOf(item, m)
			if o == nil {
				continue
			}
			where := m + " " + p
			name, err := opNameFor(o.OperationId, m, p, maxName)
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

// operationOf returns a path item's operation for an HTTP method, if any.
func operationOf(item *v3.PathItem, method string) *v3.Operation {
	switch method {
	case "GET":
		return item.Get
	case "HEAD":
		return item.Head
	case "POST":
		return item.Post
	case "PUT":
		return item.Put
	case "PATCH":
		return item.Patch
	case "DELETE":
		return item.Delete
	case "OPTIONS":
		return item.Options
	case "TRACE":
		return item.Trace
	}
	return nil
}

// supportedVersion reports whether Warden reads an OpenAPI version: 3,
// or 3.0, 3.1 or 3.2 with or without a patch number.
func supportedVersion(v string) bool {
	minor, patch, ok := strings.Cut(strings.TrimPrefix(v, "3."), ".")
	switch {
	case v == "3":
		return true
	case !strings.HasPrefix(v, "3.") || len(minor) != 1 || minor < "0" || minor > "2":
		return false
	case !ok:
		return true
	}
	return patch != "" && strings.Trim(patch, "0123456789") == ""
}

// readOpenAPI loads and checks one self-contained OpenAPI 3 document,
// YAML or JSON. It reads no other file and makes no network request.
func readOpenAPI(file string) (*v3.Document, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, newReadError(file, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxOpenAPIBytes+1))
	if err != nil {
		return nil, newReadError(file, err)
	}
	if len(data) > maxOpenAPIBytes {
		return nil, fmt.Errorf("the document is over %d bytes", maxOpenAPIBytes)
	}
	cfg := &datamodel.DocumentConfiguration{
		// No file system and no network: a $ref outside the document is
		// left unresolved, then refused below by its name.
		AllowFileReferences:       false,
		AllowRemoteReferences:     false,
		SkipExternalRefResolution: true,
		ExcludeExtensionRefs:      true,
		// libopenapi logs to standard output unless given a logger, and
		// standard output may be the MCP connection.
		Logger: slog.New(slog.DiscardHandler),
	}
	// The spec info is returned with the error of a wrong version, so a
	// Swagger document is named as such.
	info, err := datamodel.ExtractSpecInfoWithConfig(data, cfg)
	if info != nil && (info.SpecType == utils.OpenApi2 || info.SpecType == utils.OpenApi3 && strings.HasPrefix(info.Version, "2")) {
		return nil, errors.New("this is a Swagger (OpenAPI 2) document; convert it to OpenAPI 3 first")
	}
	if info != nil && info.SpecType == utils.OpenApi3 && !supportedVersion(info.Version) {
		return nil, fmt.Errorf("unsupported OpenAPI version %q; Warden reads OpenAPI 3 documents", info.Version)
	}
	if info != nil && info.SpecType != utils.OpenApi3 {
		return nil, errors.New("not an OpenAPI document: it has no openapi field")
	}
	if err != nil {
		return nil, fmt.Errorf("not a readable OpenAPI document: %w", err)
	}
	if nestingDepth(info.RootNode, map[*yaml.Node]int{}) > maxOpenAPIDepth {
		return nil, fmt.Errorf("the document nests more than %d levels deep", maxOpenAPIDepth)
	}
	// OpenAPI 3.1 schemas are JSON Schema 2020-12, where the keywords
	// beside a $ref apply too; in 3.0 they are ignored.
	cfg.TransformSiblingRefs = info.VersionNumeric >= 3.1
	low, err := v3low.CreateDocumentFromConfig(info, cfg)
	if low == nil {
		return nil, fmt.Errorf("not a readable OpenAPI document: %w", err)
	}
	if low.Index != nil {
		for _, r := range low.Index.GetRawReferencesSequenced() {
			if r.RawRef == "" && r.Node != nil {
				return nil, fmt.Errorf("not a valid OpenAPI document: line %d: a $ref is empty", r.Node.Line)
			}
			if !r.IsExtensionRef && !strings.HasPrefix(r.RawRef, "#") {
				return nil, fmt.Errorf("the $ref %q points outside the document; Warden reads one self-contained document, so bundle it first", r.RawRef)
			}
		}
	}
	if err := buildError(err); err != nil {
		return nil, fmt.Errorf("not a valid OpenAPI document: %w", err)
	}
	doc := v3.NewDocument(low)
	if err := checkDocument(doc, info.Version); err != nil {
		return nil, fmt.Errorf("not a valid OpenAPI document: %w", err)
	}
	return doc, nil
}

// readError is an OpenAPI document that cannot be read, in an operator's
// words: the file and the cause, said once.
type readError struct {
	file string
	err  error
}

func newReadError(file string, err error) *readError { return &readError{file: file, err: err} }

func (e *readError) Error() string {
	return fmt.Sprintf("cannot read the OpenAPI document %s: %s", e.file, core.Cause(e.err))
}

func (e *readError) Unwrap() error { return e.err }

// nestingDepth returns how deeply n nests, aliases followed; a cycle of
// aliases is deeper than any limit.
func nestingDepth(n *yaml.Node, memo map[*yaml.Node]int) int {
	if n == nil {
		return 0
	}
	if d, ok := memo[n]; ok {
		if d < 0 {
			return math.MaxInt32 // n contains itself
		}
		return d
	}
	memo[n] = -1
	d := 0
	if n.Kind == yaml.AliasNode {
		d = nestingDepth(n.Alias, memo)
	} else {
		for _, c := range n.Content {
			d = max(d, nestingDepth(c, memo))
		}
		if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
			d = min(d+1, math.MaxInt32)
		}
	}
	memo[n] = d
	return d
}

// buildError returns the first of libopenapi's errors that matters, and
// how many more there are. A circular reference does not matter: the
// schema conversion spells a recursive schema out once. A chain of
// references that never reaches a value does.
func buildError(err error) error {
	var msgs []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var re *index.ResolvingError
		if errors.As(err, &re) && re.CircularReference != nil && !errors.Is(re.ErrorRef, index.ErrReferenceChainCycle) {
			return
		}
		msgs = append(msgs, err.Error())
	}
	if err != nil {
		walk(err)
	}
	if len(msgs) == 0 {
		return nil
	}
	// libopenapi builds the document's parts concurrently: sorting makes
	// the error reported the same every time.
	slices.Sort(msgs)
	msgs = slices.Compact(msgs)
	if len(msgs) > 1 {
		return fmt.Errorf("%s (and %d more problems)", msgs[0], len(msgs)-1)
	}
	return errors.New(msgs[0])
}

// checkDocument checks what libopenapi, which builds a model of whatever
// it is given, leaves unchecked: the fields OpenAPI requires of the parts
// Warden reads, that the parts are objects, and that every operation
// declares exactly the parameters of its path.
func checkDocument(doc *v3.Document, version string) error {
	v30 := strings.HasPrefix(version+".", "3.0.") || version == "3"
	v32 := strings.HasPrefix(version, "3.2")
	if doc.Info == nil || doc.Info.Title == "" || doc.Info.Version == "" {
		return errors.New("the info object needs a title and a version")
	}
	if doc.Paths == nil {
		if v30 {
			return errors.New("the document has no paths object")
		}
		return nil
	}
	if err := isObject(doc.Paths.GoLow().RootNode, "paths"); err != nil {
		return err
	}
	for path, item := range doc.Paths.PathItems.FromOldest() {
		if err := isObject(item.GoLow().RootNode, "the path item "+path); err != nil {
			return err
		}
		if !strings.HasPrefix(path, "/") {
			return fmt.Errorf("the path %q does not start with /", path)
		}
		if err := checkParams(item.Parameters); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		var inPath []string // the names in braces
		for rest := path; ; {
			_, after, ok := strings.Cut(rest, "{")
			name, tail, closed := strings.Cut(after, "}")
			if !ok || !closed {
				break
			}
			inPath, rest = append(inPath, name), tail
		}
		for _, m := range append(slices.Clone(methods), "TRACE") {
			o := operationOf(item, m)
			if o == nil {
				continue
			}
			if err := checkOperation(o, item, inPath, v30, v32); err != nil {
				return fmt.Errorf("%s %s: %w", m, path, err)
			}
		}
	}
	return nil
}

// checkOperation checks one operation: its parameters, that they are
// exactly those its path names, its request body and its responses.
func checkOperation(o *v3.Operation, item *v3.PathItem, inPath []string, v30, v32 bool) error {
	if err := isObject(o.GoLow().RootNode, "the operation"); err != nil {
		return err
	}
	if err := checkParams(o.Parameters); err != nil {
		return err
	}
	var declared []string
	for _, ps := range [][]*v3.Parameter{item.Parameters, o.Parameters} {
		for _, p := range ps {
			if p.In == "path" && !slices.Contains(declared, p.Name) {
				declared = append(declared, p.Name)
			}
		}
	}
	for _, name := range inPath {
		if !slices.Contains(declared, name) {
			return fmt.Errorf("the path parameter {%s} is not declared", name)
		}
	}
	for _, name := range declared {
		if !slices.Contains(inPath, name) {
			return fmt.Errorf("the path parameter %q is not in the path", name)
		}
	}
	if rb := o.RequestBody; rb != nil {
		if err := isObject(rb.GoLow().RootNode, "the request body"); err != nil {
			return err
		}
		if rb.GoLow().Content.KeyNode == nil {
			return errors.New("the request body has no content")
		}
	}
	var responses []*v3.Response
	if r := o.Responses; r != nil {
		if err := isObject(r.GoLow().RootNode, "responses"); err != nil {
			return err
		}
		responses = slices.Collect(r.Codes.ValuesFromOldest())
		if r.Default != nil {
			responses = append(responses, r.Default)
		}
	}
	if len(responses) == 0 && v30 {
		return errors.New("the operation has no responses")
	}
	for _, r := range responses {
		if err := isObject(r.GoLow().RootNode, "a response"); err != nil {
			return err
		}
		if r.GoLow().Description.KeyNode == nil && !v32 {
			return errors.New("a response has no description")
		}
	}
	return nil
}

// checkParams checks one list of parameters, a path item's or an
// operation's.
func checkParams(params []*v3.Parameter) error {
	for i, p := range params {
		if err := isObject(p.GoLow().RootNode, "a parameter"); err != nil {
			return err
		}
		if p.Name == "" {
			return errors.New("a parameter has no name")
		}
		switch p.In {
		case "path", "query", "header", "cookie":
		default:
			return fmt.Errorf("the parameter %q is in %q, not in path, query, header or cookie", p.Name, p.In)
		}
		if p.In == "path" && !isTrue(p.Required) {
			return fmt.Errorf("the path parameter %q must be required", p.Name)
		}
		if (p.Schema == nil) == (orderedmap.Len(p.Content) == 0) {
			return fmt.Errorf("the %s parameter %q needs exactly one of schema and content", p.In, p.Name)
		}
		if orderedmap.Len(p.Content) > 1 {
			return fmt.Errorf("the %s parameter %q has more than one content type", p.In, p.Name)
		}
		if slices.ContainsFunc(params[:i], func(q *v3.Parameter) bool { return q.In == p.In && q.Name == p.Name }) {
			return fmt.Errorf("the %s parameter %q is declared twice", p.In, p.Name)
		}
	}
	return nil
}

// isObject checks that a part of the document is a YAML mapping (a JSON
// object): libopenapi makes an empty part of anything else.
func isObject(n *yaml.Node, what string) error {
	if n == nil || n.Kind == yaml.MappingNode {
		return nil
	}
	return fmt.Errorf("line %d: %s is not an object", n.Line, what)
}

func isTrue(b *bool) bool { return b != nil && *b }

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
	if name == "" || !names.Operation.Valid(name) {
		return "", fmt.Errorf("cannot make a tool name from operationId %q", id)
	}
	return name, nil
}

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
func (c *Connector) apiOp(name, method, path string, item *v3.PathItem, o *v3.Operation) (core.Operation, *apiOperation, error) {
	a := &apiOperation{method: method, args: map[string]bool{}}
	params := c.collectParams(item, o)
	sc := &schemaConv{}
	props := map[string]any{}
	// "body" is the body's name whatever the parameters are called. A GET
	// or HEAD body is not offered: build refuses it.
	bodyRequired := false
	if rb := o.RequestBody; rb != nil && method != "GET" && method != "HEAD" {
		if mt := mediaType(rb.Content, "application/json"); mt != nil {
			a.body, bodyRequired = true, isTrue(rb.Required)
			a.args["body"] = true
			node := sc.top(mt.Schema)
			node["description"] = describe(rb.Description, node["description"], "The JSON request body.")
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
	if sc.err != nil {
		return core.Operation{}, nil, fmt.Errorf("not a valid schema: %w", sc.err)
	}
	if bodyRequired {
		a.required = append(a.required, "body")
	}
	tmpl, err := parseTemplate(path, a.params)
	if err != nil {
		return core.Operation{}, nil, err
	}
	a.template = tmpl
	a.argType = argStruct(a)
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
	// What a call of the operation does is said by its path and query
	// arguments: the method and path template are the operation's own.
	var keyArgs []string
	for _, p := range a.params {
		if p.in == "path" || p.in == "query" {
			keyArgs = append(keyArgs, p.arg)
		}
	}
	op := core.Operation{
		Name:        name,
		Action:      method,
		Target:      target,
		Summary:     apiSummary(o, method, target),
		InputSchema: raw,
		ReadOnly:    safeMethod(method),
		OpenWorld:   true,
		KeyArgs:     keyArgs,
	}
	return op, a, nil
}

// mediaType returns the content's entry for a media type: the one that
// names it, else its type's wildcard (application/*), else */*. A key
// may list several media ranges, separated by commas.
func mediaType(content *orderedmap.Map[string, *v3.MediaType], mime string) *v3.MediaType {
	typ, _, _ := strings.Cut(mime, "/")
	for _, want := range []string{mime, typ + "/*", "*/*"} {
		for k, mt := range content.FromOldest() {
			if mt == nil || mt.GoLow().RootNode != nil && mt.GoLow().RootNode.Kind != yaml.MappingNode {
				continue // application/json: null
			}
			for entry := range strings.SplitSeq(k, ",") {
				if strings.EqualFold(strings.TrimSpace(entry), want) {
					return mt
				}
			}
		}
	}
	return nil
}

// collectParams merges the path item's parameters with the operation's,
// which override those of the same name and location. Cookie parameters,
// the credential's own header or query parameter, and headers Warden
// refuses are left out: the agent could never send them.
func (c *Connector) collectParams(item *v3.PathItem, o *v3.Operation) []*v3.Parameter {
	var out []*v3.Parameter
	add := func(params []*v3.Parameter) {
		for _, p := range params {
			if p == nil {
				continue
			}
			i := slices.IndexFunc(out, func(q *v3.Parameter) bool { return q.In == p.In && q.Name == p.Name })
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
	return slices.DeleteFunc(out, func(p *v3.Parameter) bool {
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
func planParam(p *v3.Parameter, sc *schemaConv) (apiParam, map[string]any, error) {
	ap := apiParam{name: p.Name, in: p.In, required: isTrue(p.Required) || p.In == "path", style: p.Style}
	schema := p.Schema
	if schema == nil && orderedmap.Len(p.Content) > 0 {
		types := slices.Sorted(p.Content.KeysFromOldest())
		if mt := p.Content.GetOrZero(types[0]); mt != nil {
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
	if names.Argument.Valid(name) {
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
func apiSummary(o *v3.Operation, method, target string) string {
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
	if isTrue(o.Deprecated) {
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

// argStruct is the type argjson.Decode fills with an operation's
// arguments: each field holds an argument as decoded (any), named by its
// json tag; argName keeps the names fit for a tag.
func argStruct(a *apiOperation) reflect.Type {
	anyType := reflect.TypeFor[any]()
	fields := make([]reflect.StructField, 0, len(a.params)+1)
	for i, p := range a.params {
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("P%d", i), Type: anyType, Tag: reflect.StructTag(`json:"` + p.arg + `"`)})
	}
	if a.body {
		fields = append(fields, reflect.StructField{Name: "Body", Type: anyType, Tag: `json:"body"`})
	}
	return reflect.StructOf(fields)
}

// prepareAPI builds the request of one OpenAPI operation from its
// arguments. Every path parameter fills exactly one path segment (or
// part of one), percent-encoded, so a value such as "../admin" or "a/b"
// cannot add segments; build then checks the whole request as it checks
// the generic tool's.
func (c *Connector) prepareAPI(a *apiOperation, inv *core.Invocation) (*request, error) {
	const op = "http.prepare"
	invalid := func(format string, args ...any) error {
		return core.Errorf(op, core.KindInvalid, core.ReasonInvalidArguments, "The arguments are not valid: "+format+".", args...)
	}
	dst := reflect.New(a.argType)
	if err := decodeArgs(inv, dst.Interface()); err != nil {
		return nil, err
	}
	// args[i] is the argument of params[i], then the body's; nil (absent
	// or null) leaves an optional parameter out.
	args := make([]any, a.argType.NumField())
	for i := range args {
		args[i] = dst.Elem().Field(i).Interface()
	}
	argOf := func(name string) any {
		for i, p := range a.params {
			if p.arg == name {
				return args[i]
			}
		}
		if a.body && name == "body" {
			return args[len(a.params)]
		}
		return nil
	}
	for _, r := range a.required {
		if argOf(r) == nil {
			return nil, invalid("the argument %q is required", r)
		}
	}
	// What is sent as written is read from the text, in one pass.
	var want []string
	for i, p := range a.params {
		if args[i] != nil && (p.json || hasNumber(args[i])) {
			want = append(want, p.arg)
		}
	}
	if a.body && args[len(a.params)] != nil {
		want = append(want, "body")
	}
	exact, err := members(inv.Args, want...)
	if err != nil {
		return nil, notExact(err)
	}

	values := make([][]pair, len(a.params))
	query := url.Values{}
	headers := map[string]string{}
	for i, p := range a.params {
		v := args[i]
		if v == nil {
			continue
		}
		switch {
		case p.json:
			b, err := compactJSON(exact[p.arg], v)
			if err != nil {
				return nil, notExact(err)
			}
			v = json.RawMessage(b)
		case hasNumber(v):
			var err error
			if v, err = exactValue(exact[p.arg], v); err != nil {
				return nil, notExact(err)
			}
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

	// The body is JSON whatever its value, a string included.
	var body *payload
	if a.body && args[len(a.params)] != nil {
		b, err := compactJSON(exact["body"], args[len(a.params)])
		if err != nil {
			return nil, notExact(err)
		}
		body = &payload{b, "application/json"}
	}
	return c.build(a.method, path.String(), query, headers, body)
}

// pair is one name and value on the wire.
type pair struct{ name, value string }

// serialize turns an argument into the parameter's wire form, following
// its style: a scalar is one value; an array repeats a form-exploded query
// parameter and is otherwise joined ("a,b"); an object's keys become
// parameters (form, exploded), name[key] parameters (deepObject) or part
// of the value ("k,v" or "k=v"). Path and header parameters have one value.
func (p *apiParam) serialize(v any) ([]pair, error) {
	if p.json {
		raw, ok := v.(json.RawMessage)
		if !ok {
			return nil, fmt.Errorf("%s is not JSON text", p.arg)
		}
		return []pair{{p.name, string(raw)}}, nil
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
