package httpapi

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi/datamodel/high/base"
)

// schemaConv converts OpenAPI schemas into JSON Schema 2020-12 that the
// tool schema checker and the pipeline's validator accept: keywords
// outside that subset (discriminator, xml, 3.1's conditionals) are
// dropped, which makes the tool's schema looser, never stricter, than the
// API's; the API still validates its own input.
type schemaConv struct {
	nodes int
	open  map[string]bool // the references being converted: a cycle's ancestors
	err   error           // the first schema found malformed
}

// top converts a parameter's or body's schema and makes sure it states a
// type, as every argument of a tool must.
func (sc *schemaConv) top(sp *base.SchemaProxy) map[string]any {
	node, ok := sc.convert(sp, 0).(map[string]any)
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

// fail records the first malformed schema.
func (sc *schemaConv) fail(err error) {
	if sc.err == nil {
		sc.err = err
	}
}

// layers returns what a schema is made of: the schema itself or, for an
// OpenAPI 3.1 $ref with keywords beside it, the referenced schema and
// then those keywords, which add to and override it. ref names the
// referenced schema, if any, to spot recursion.
func layers(sp *base.SchemaProxy) (out []*base.Schema, ref string, err error) {
	if n := sp.GetValueNode(); n != nil && n.Kind != yaml.MappingNode && !(n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool") {
		return nil, "", fmt.Errorf("line %d: a schema is not an object", n.Line)
	}
	if sp.IsTransformedRefWithSiblings() {
		full, err := sp.BuildTransformedRefSemanticSchema(nil)
		if err != nil {
			return nil, "", err
		}
		if full != nil && len(full.AllOf) == 2 && full.AllOf[1] != nil {
			target := full.AllOf[1]
			if t := target.Schema(); t != nil {
				out = append(out, t)
			} else if err := target.GetBuildError(); err != nil {
				return nil, "", err
			}
			ref = target.GetReference()
		}
	} else if sp.IsReference() {
		ref = sp.GetReference()
	}
	s := sp.Schema()
	if s == nil {
		if err := sp.GetBuildError(); err != nil {
			return nil, "", err
		}
		return out, ref, nil
	}
	return append(out, s), ref, nil
}

// convert converts one schema; it returns a map or a boolean schema.
func (sc *schemaConv) convert(sp *base.SchemaProxy, depth int) any {
	if sp == nil || depth > maxSchemaDepth || sc.nodes >= maxSchemaNodes {
		return map[string]any{}
	}
	sc.nodes++
	ls, ref, err := layers(sp)
	if err != nil {
		sc.fail(err)
		return map[string]any{}
	}
	// A referenced boolean schema under keywords is left out: true adds
	// nothing, and leaving false out only loosens the schema.
	if len(ls) > 1 {
		ls = slices.DeleteFunc(ls, func(s *base.Schema) bool { return s.BooleanSchema != nil })
	}
	if len(ls) == 0 {
		return map[string]any{}
	}
	if b := ls[0].BooleanSchema; b != nil {
		return *b
	}
	out := map[string]any{}
	var types []string
	nullable := false
	for _, s := range ls {
		if len(s.Type) > 0 {
			types = slices.Clone(s.Type)
		}
		if s.Nullable != nil {
			nullable = *s.Nullable
		}
	}
	for _, t := range types {
		if !slices.Contains(anyType, t) {
			sc.fail(fmt.Errorf("%q is not a JSON Schema type", t))
			return map[string]any{}
		}
	}
	if nullable && len(types) > 0 && !slices.Contains(types, "null") {
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
	if ref != "" {
		if sc.open[ref] {
			out["description"] = "Recursive: the same structure as the enclosing value."
			return out
		}
		if sc.open == nil {
			sc.open = map[string]bool{}
		}
		sc.open[ref] = true
		defer delete(sc.open, ref)
	}
	for _, s := range ls {
		sc.keywords(out, s, depth)
	}
	// Bounds that contradict each other are dropped.
	for _, pair := range [][2]string{{"minimum", "maximum"}, {"minLength", "maxLength"}, {"minItems", "maxItems"}, {"minProperties", "maxProperties"}} {
		lo, okLo := asFloat(out[pair[0]])
		hi, okHi := asFloat(out[pair[1]])
		if okLo && okHi && lo > hi {
			delete(out, pair[0])
			delete(out, pair[1])
		}
	}
	sc.required(out, ls)
	values(out, ls)
	return out
}

// keywords sets the keywords of one layer of a schema but its required
// properties and its values.
func (sc *schemaConv) keywords(out map[string]any, s *base.Schema, depth int) {
	for k, v := range map[string]string{"title": s.Title, "description": s.Description, "format": s.Format} {
		if v = strings.TrimSpace(v); v != "" {
			out[k] = v
		}
	}
	if isTrue(s.Deprecated) {
		out["deprecated"] = true
	}

	// Numbers. OpenAPI 3.0's exclusiveMinimum is a flag on minimum; 3.1's
	// is the bound itself, as in JSON Schema 2020-12.
	bound := func(key string, v *float64, excl *base.DynamicValue[bool, float64]) {
		exclusive := "exclusiveM" + key[1:]
		if v != nil {
			if excl != nil && excl.IsA() && excl.A {
				out[exclusive] = *v
			} else {
				out[key] = *v
			}
		}
		if excl != nil && excl.IsB() {
			out[exclusive] = excl.B
		}
	}
	bound("minimum", s.Minimum, s.ExclusiveMinimum)
	bound("maximum", s.Maximum, s.ExclusiveMaximum)
	if s.MultipleOf != nil && *s.MultipleOf > 0 {
		out["multipleOf"] = *s.MultipleOf
	}

	// Strings.
	counts(out, "minLength", "maxLength", s.MinLength, s.MaxLength)
	if s.Pattern != "" {
		// ECMA-262 patterns Go cannot compile are dropped, not guessed at.
		if _, err := regexp.Compile(s.Pattern); err == nil {
			out["pattern"] = s.Pattern
		}
	}

	// Arrays.
	counts(out, "minItems", "maxItems", s.MinItems, s.MaxItems)
	if isTrue(s.UniqueItems) {
		out["uniqueItems"] = true
	}
	if it := s.Items; it != nil {
		if it.IsB() {
			out["items"] = it.B
		} else if it.A != nil {
			out["items"] = sc.convert(it.A, depth+1)
		}
	}

	// Objects. A readOnly property is never sent in a request.
	if s.Properties != nil && s.Properties.Len() > 0 {
		props := map[string]any{}
		for _, name := range slices.Sorted(s.Properties.KeysFromOldest()) {
			p := s.Properties.GetOrZero(name)
			if readOnly(p) {
				continue
			}
			props[name] = sc.convert(p, depth+1)
		}
		out["properties"] = props
	}
	if ap := s.AdditionalProperties; ap != nil {
		if ap.IsB() {
			if ap.B {
				delete(out, "additionalProperties")
			} else {
				out["additionalProperties"] = false
			}
		} else if ap.A != nil {
			out["additionalProperties"] = sc.convert(ap.A, depth+1)
		}
	}
	counts(out, "minProperties", "maxProperties", s.MinProperties, s.MaxProperties)

	// Composition.
	for k, list := range map[string][]*base.SchemaProxy{"allOf": s.AllOf, "anyOf": s.AnyOf, "oneOf": s.OneOf} {
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
}

// required sets the required properties a request can provide: those
// listed once, neither read-only nor impossible in a closed object.
func (sc *schemaConv) required(out map[string]any, ls []*base.Schema) {
	var list []string
	declared := map[string]bool{} // by the document, read-only or not
	for _, s := range ls {
		if len(s.Required) > 0 {
			list = s.Required
		}
		if s.Properties != nil {
			for k := range s.Properties.KeysFromOldest() {
				declared[k] = true
			}
		}
	}
	props, _ := out["properties"].(map[string]any)
	closed := out["additionalProperties"] == false
	var req []string
	for _, r := range list {
		if _, ok := props[r]; slices.Contains(req, r) || !ok && (closed || declared[r]) {
			continue // listed twice, read-only, or impossible
		}
		req = append(req, r)
	}
	if len(req) > 0 {
		out["required"] = req
	}
}

// values sets const, enum, default and examples, each (but const) kept
// only if the schema accepts it, as the tool schema checker demands; a
// document's inconsistent example is not Warden's to enforce. A later
// layer's value replaces an earlier one's.
func values(out map[string]any, ls []*base.Schema) {
	var cnst, dflt *yaml.Node
	var enum, examples []*yaml.Node
	for _, s := range ls {
		if present(s.Const) {
			cnst = s.Const
		}
		if present(s.Default) {
			dflt = s.Default
		}
		if len(s.Enum) > 0 {
			enum = s.Enum
		}
		if present(s.Example) || len(s.Examples) > 0 {
			examples = s.Examples
			if present(s.Example) {
				examples = append([]*yaml.Node{s.Example}, examples...)
			}
		}
	}
	if v, ok := nodeValue(cnst); ok {
		out["const"] = v
	}
	if e := accepted(out, enum); len(e) > 0 {
		out["enum"] = e
	}
	if d := accepted(out, []*yaml.Node{dflt}); len(d) == 1 {
		out["default"] = d[0]
	}
	if ex := accepted(out, examples); len(ex) > 0 {
		out["examples"] = ex
	}
}

// present reports whether a value is given, and not as null: a null
// const, default or example says nothing.
func present(n *yaml.Node) bool {
	return n != nil && !(n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// readOnly reports whether a property is read-only, never sent.
func readOnly(sp *base.SchemaProxy) bool {
	ls, _, _ := layers(sp)
	ro := false
	for _, s := range ls {
		if s.ReadOnly != nil {
			ro = *s.ReadOnly
		}
	}
	return ro
}

// counts sets a min/max pair of counts; a negative count is left out.
func counts(out map[string]any, minKey, maxKey string, lo, hi *int64) {
	if lo != nil && *lo > 0 {
		out[minKey] = *lo
	}
	if hi != nil && *hi >= 0 {
		out[maxKey] = *hi
	}
}

// asFloat returns a bound's value.
func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// accepted returns the values node accepts, as JSON values.
func accepted(node map[string]any, values []*yaml.Node) []any {
	if !slices.ContainsFunc(values, func(n *yaml.Node) bool { return n != nil }) {
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
	for _, n := range values {
		if jv, ok := nodeValue(n); ok && rs.Validate(jv) == nil {
			out = append(out, jv)
		}
	}
	return out
}

// nodeValue turns a value of the document into its JSON form, as a JSON
// decoder would: a timestamp stays the text it is (2024-01-31 is a date,
// not a time), a key is its text. A value JSON cannot hold (.inf) is not
// one.
func nodeValue(n *yaml.Node) (any, bool) {
	v, ok := yamlValue(n, 0)
	if !ok {
		return nil, false
	}
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

func yamlValue(n *yaml.Node, depth int) (any, bool) {
	if n == nil || depth > 1000 {
		return nil, false
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 1 {
			return yamlValue(n.Content[0], depth+1)
		}
	case yaml.AliasNode:
		return yamlValue(n.Alias, depth+1)
	case yaml.ScalarNode:
		if n.ShortTag() == "!!timestamp" {
			return n.Value, true
		}
		var v any
		return v, n.Decode(&v) == nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, ok := yamlValue(c, depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
				return nil, false // a complex key, or a << merge
			}
			v, ok := yamlValue(n.Content[i+1], depth+1)
			if !ok {
				return nil, false
			}
			out[k.Value] = v
		}
		return out, true
	}
	return nil, false
}
