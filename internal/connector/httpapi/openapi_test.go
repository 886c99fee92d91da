package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/connector/connectortest"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/policy"
)

// weatherDoc has one operation of each kind the connector must handle:
// query, path and header parameters, a JSON body with a recursive schema,
// operations with and without an operationId.
const weatherDoc = "testdata/weather.yaml"

// openapiSpec returns an http resource on base whose tools come from doc.
func openapiSpec(base, doc string) *core.ResourceSpec {
	return spec(base, func(s *Config) { s.OpenAPI = doc })
}

// writeDoc writes an OpenAPI document into a fresh directory.
func writeDoc(t *testing.T, name, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// miniDoc is an OpenAPI 3.0 document with the given paths object.
func miniDoc(paths string) string {
	return "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n" + paths
}

// callAPI prepares and executes one call like call, and returns the
// invocation as Prepare filled it in.
func callAPI(t *testing.T, c *Connector, op string, args any) (*Response, *core.Invocation, error) {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	inv := &core.Invocation{Op: op, Args: raw}
	if err := c.Prepare(context.Background(), inv); err != nil {
		return nil, inv, &stageError{"Prepare", err}
	}
	res, err := c.Execute(context.Background(), inv, allowAll)
	if err != nil {
		return nil, inv, &stageError{"Execute", err}
	}
	return res.Value.(*Response), inv, nil
}

type inputSchema struct {
	Schema     string                    `json:"$schema"`
	Type       string                    `json:"type"`
	Additional *bool                     `json:"additionalProperties"`
	Properties map[string]map[string]any `json:"properties"`
	Required   []string                  `json:"required"`
}

func schemaOf(t *testing.T, c *Connector, name string) inputSchema {
	t.Helper()
	for _, op := range c.Operations() {
		if op.Name == name {
			var s inputSchema
			if err := json.Unmarshal(op.InputSchema, &s); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return s
		}
	}
	t.Fatalf("no operation %q", name)
	return inputSchema{}
}

func TestOpenAPIOperations(t *testing.T) {
	c := newConn(t, openapiSpec("https://api.example/v1", weatherDoc))
	type opWant struct {
		name, action, target string
		readOnly             bool
		summary              string
		// keyArgs are the path and query arguments (not headers or the
		// body): what an approver and the audit see of a call.
		keyArgs []string
	}
	want := []opWant{
		{"create_alert", "POST", "/v1/alerts", false, "Create an alert. Sends POST /v1/alerts.", nil},
		{"get_forecast", "GET", "/v1/forecast", true, "Get the forecast for a city. It uses the latest model run. Sends GET /v1/forecast.", []string{"city", "days", "units", "fields"}},
		{"get_station", "GET", "/v1/stations/{id}", true, "Returns one station. Sends GET /v1/stations/{id}.", []string{"id"}},
		{"delete_stations_id", "DELETE", "/v1/stations/{id}", false, "Sends DELETE /v1/stations/{id}.", []string{"id", "query_id"}},
		{"get_stations_id_readings", "GET", "/v1/stations/{id}/readings", true, "Sends GET /v1/stations/{id}/readings.", []string{"id", "limit"}},
	}
	var got []opWant
	for _, op := range c.Operations() {
		got = append(got, opWant{op.Name, op.Action, op.Target, op.ReadOnly, op.Summary, op.KeyArgs})
		// Every call reaches a service outside the host, and a fixed
		// target is no argument to quote.
		if !op.OpenWorld || op.TargetArg != "" {
			t.Errorf("%s: OpenWorld %v, TargetArg %q; want true and none", op.Name, op.OpenWorld, op.TargetArg)
		}
		if op.Actions != nil {
			t.Errorf("%s: Actions = %v, want none (the method is the Action)", op.Name, op.Actions)
		}
		if err := connectortest.CheckInputSchema(op.InputSchema); err != nil {
			t.Errorf("%s: %v", op.Name, err)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("operations:\n got %+v\nwant %+v", got, want)
	}
	// With an OpenAPI document there is no generic tool.
	inv := core.Invocation{Op: OpRequest, Args: json.RawMessage(`{"method":"GET","path":"forecast"}`)}
	if err := c.Prepare(context.Background(), &inv); core.ReasonOf(err) != core.ReasonInvalidArguments {
		t.Errorf("Prepare(request) = %v, want an unknown operation", err)
	}
}

func TestOpenAPISchemas(t *testing.T) {
	c := newConn(t, openapiSpec("https://api.example/v1/", weatherDoc))
	tests := []struct {
		op       string
		required []string
		types    map[string]string // argument -> fmt.Sprint of its "type"
	}{
		{"get_forecast", []string{"city"}, map[string]string{
			"city": "string", "days": "integer", "units": "string", "fields": "array", "X-Request-Id": "string",
		}},
		{"get_station", []string{"id"}, map[string]string{"id": "string"}},
		// The query parameter id yields to the path parameter's name.
		{"delete_stations_id", []string{"id"}, map[string]string{"id": "string", "query_id": "string"}},
		{"get_stations_id_readings", []string{"id"}, map[string]string{"id": "integer", "limit": "[integer null]"}},
		{"create_alert", []string{"body"}, map[string]string{"body": "object"}},
	}
	for _, tt := range tests {
		s := schemaOf(t, c, tt.op)
		if s.Schema != "https://json-schema.org/draft/2020-12/schema" || s.Type != "object" || s.Additional == nil || *s.Additional {
			t.Errorf("%s: $schema %q, type %q, additionalProperties %v", tt.op, s.Schema, s.Type, s.Additional)
		}
		if !slices.Equal(s.Required, tt.required) {
			t.Errorf("%s: required %v, want %v", tt.op, s.Required, tt.required)
		}
		types := map[string]string{}
		for name, p := range s.Properties {
			types[name] = fmt.Sprint(p["type"])
		}
		if !reflect.DeepEqual(types, tt.types) {
			t.Errorf("%s: argument types %v, want %v", tt.op, types, tt.types)
		}
	}

	f := schemaOf(t, c, "get_forecast").Properties
	if f["city"]["description"] != "The city, such as Zurich." || f["city"]["maxLength"] != 100.0 || f["city"]["minLength"] != 1.0 {
		t.Errorf("city = %v", f["city"])
	}
	if f["days"]["default"] != 3.0 || f["days"]["minimum"] != 1.0 || f["days"]["maximum"] != 14.0 {
		t.Errorf("days = %v", f["days"])
	}
	if fmt.Sprint(f["units"]["enum"]) != "[metric imperial]" || fmt.Sprint(f["fields"]["items"]) != "map[type:string]" {
		t.Errorf("units = %v, fields = %v", f["units"], f["fields"])
	}
	// OpenAPI 3.0's boolean exclusiveMinimum becomes 2020-12's bound.
	l := schemaOf(t, c, "get_stations_id_readings").Properties["limit"]
	if _, ok := l["minimum"]; ok || l["exclusiveMinimum"] != 0.0 {
		t.Errorf("limit = %v, want exclusiveMinimum 0 and no minimum", l)
	}

	body := schemaOf(t, c, "create_alert").Properties["body"]
	props := body["properties"].(map[string]any)
	if _, ok := props["id"]; ok {
		t.Errorf("body properties include the readOnly id: %v", props)
	}
	if fmt.Sprint(body["required"]) != "[city level]" {
		t.Errorf("body required = %v, want [city level] (id is readOnly)", body["required"])
	}
	if p := props["parent"].(map[string]any); p["type"] != "object" || p["properties"] != nil {
		t.Errorf("the recursive parent = %v, want an object not spelled out again", p)
	}
}

func TestOpenAPICall(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, openapiSpec(up.URL+"/v1/", weatherDoc))
	tests := []struct {
		op      string
		args    map[string]any
		method  string
		path    string // as the upstream decoded it
		escaped string
		query   url.Values
		header  http.Header
		body    string
	}{
		{
			op:     "get_forecast",
			args:   map[string]any{"city": "Zürich & Co", "days": 5, "fields": []string{"temp", "wind"}, "X-Request-Id": "r-1"},
			method: "GET", path: "/v1/forecast", escaped: "/v1/forecast",
			query:  url.Values{"city": {"Zürich & Co"}, "days": {"5"}, "fields": {"temp", "wind"}},
			header: http.Header{"X-Request-Id": {"r-1"}},
		},
		{
			op: "get_station", args: map[string]any{"id": "st 1"},
			method: "GET", path: "/v1/stations/st 1", escaped: "/v1/stations/st%201", query: url.Values{},
		},
		{
			op: "get_stations_id_readings", args: map[string]any{"id": 42, "limit": nil},
			method: "GET", path: "/v1/stations/42/readings", escaped: "/v1/stations/42/readings", query: url.Values{},
		},
		{
			op: "delete_stations_id", args: map[string]any{"id": "s1", "query_id": "s1"},
			method: "DELETE", path: "/v1/stations/s1", escaped: "/v1/stations/s1", query: url.Values{"id": {"s1"}},
		},
		{
			op:     "create_alert",
			args:   map[string]any{"body": map[string]any{"city": "Bern", "level": "high", "tags": []string{"x"}}},
			method: "POST", path: "/v1/alerts", escaped: "/v1/alerts", query: url.Values{},
			header: http.Header{"Content-Type": {"application/json"}},
			body:   `{"city":"Bern","level":"high","tags":["x"]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			res, inv, err := callAPI(t, c, tt.op, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != 200 {
				t.Errorf("status %d", res.Status)
			}
			if inv.Action != tt.method || inv.Path != tt.path || inv.ReadOnly != safeMethod(tt.method) {
				t.Errorf("invocation: action %q path %q read-only %v", inv.Action, inv.Path, inv.ReadOnly)
			}
			r, body := up.last(t)
			if r.Method != tt.method || r.URL.Path != tt.path || r.URL.EscapedPath() != tt.escaped {
				t.Errorf("upstream got %s %s (%s), want %s %s (%s)", r.Method, r.URL.Path, r.URL.EscapedPath(), tt.method, tt.path, tt.escaped)
			}
			if q := r.URL.Query(); !reflect.DeepEqual(q, tt.query) {
				t.Errorf("upstream query %v, want %v", q, tt.query)
			}
			for k, v := range tt.header {
				if got := r.Header.Values(k); !slices.Equal(got, v) {
					t.Errorf("upstream header %s = %v, want %v", k, got, v)
				}
			}
			if string(body) != tt.body {
				t.Errorf("upstream body %q, want %q", body, tt.body)
			}
			if int(inv.Detail.(*Detail).BodyBytes) != len(tt.body) {
				t.Errorf("BodyBytes = %d, want %d", inv.Detail.(*Detail).BodyBytes, len(tt.body))
			}
		})
	}
}

// A path parameter fills one segment: whatever its value, the upstream
// path stays under the operation's path after one decoding and cleaning,
// or the call is refused before anything is sent.
func TestOpenAPIPathParamStaysInSegment(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, openapiSpec(up.URL+"/v1/", weatherDoc))
	mustRefuse := []string{"", ".", "..", "../admin", "a/b", "/admin", "%2e%2e", "%2E%2e%2fadmin", "..;x", "a%2fb", `..\admin`, `a\b`, "a\x00b", "a\nb", "%00", "..."}
	allowed := []string{"a b", "?x=1", "#top", "%", "é", "a;b=c", "a..", "~x", "{id}"}
	for _, v := range append(slices.Clone(mustRefuse), allowed...) {
		before := up.requests.Load()
		_, inv, err := callAPI(t, c, "get_station", map[string]any{"id": v})
		if err != nil {
			if k := core.KindOf(err); k != core.KindInvalid {
				t.Errorf("id %q: error kind %v, want invalid (%v)", v, k, err)
			}
			if n := up.requests.Load(); n != before {
				t.Errorf("id %q: refused, but the upstream saw %d requests", v, n-before)
			}
			if !slices.Contains(mustRefuse, v) {
				t.Errorf("id %q: refused (%v), want it sent in its segment", v, err)
			}
			continue
		}
		if slices.Contains(mustRefuse, v) {
			t.Errorf("id %q: sent (path %q), want it refused", v, inv.Path)
		}
		r, _ := up.last(t)
		want := "/v1/stations/" + v
		if r.URL.Path != want || inv.Path != want {
			t.Errorf("id %q: upstream path %q, policy path %q, want %q", v, r.URL.Path, inv.Path, want)
		}
		if cl := path.Clean(r.URL.Path); !strings.HasPrefix(cl, "/v1/stations/") {
			t.Errorf("id %q: upstream path %q cleans to %q, outside /v1/stations/", v, r.URL.Path, cl)
		}
	}
	// Numbers and booleans are their JSON text.
	for _, v := range []any{7, 2.5, true} {
		if _, inv, err := callAPI(t, c, "get_station", map[string]any{"id": v}); err != nil || inv.Path != fmt.Sprint("/v1/stations/", v) {
			t.Errorf("id %v: path %q, error %v", v, inv.Path, err)
		}
	}
}

func TestOpenAPIRefusedArguments(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, openapiSpec(up.URL+"/v1/", weatherDoc))
	tests := []struct {
		op     string
		args   any
		reason core.Reason
	}{
		{"get_forecast", map[string]any{"city": "x", "nope": 1}, core.ReasonInvalidArguments},
		{"get_forecast", map[string]any{"days": 1}, core.ReasonInvalidArguments},
		{"get_forecast", nil, core.ReasonInvalidArguments},
		{"get_forecast", map[string]any{"city": map[string]any{"a": []int{1}}}, core.ReasonInvalidArguments},
		{"get_forecast", map[string]any{"city": "x", "Authorization": "Bearer stolen"}, core.ReasonInvalidArguments},
		{"get_forecast", map[string]any{"city": "a\x00b"}, core.ReasonRequestRefused},
		{"get_forecast", map[string]any{"city": "x", "X-Request-Id": "a\r\nX-Injected: 1"}, core.ReasonRequestRefused},
		{"get_station", map[string]any{"id": []string{".."}}, core.ReasonRequestRefused},
		{"create_alert", map[string]any{}, core.ReasonInvalidArguments},
		{"create_alert", map[string]any{"body": nil}, core.ReasonInvalidArguments},
	}
	for _, tt := range tests {
		_, _, err := callAPI(t, c, tt.op, tt.args)
		if r := reasonOf(err); r != tt.reason || core.KindOf(err) != core.KindInvalid {
			t.Errorf("%s %v: error %v (reason %q), want an invalid %s", tt.op, tt.args, err, r, tt.reason)
		}
	}
	if n := up.requests.Load(); n != 0 {
		t.Errorf("the upstream saw %d requests, want none", n)
	}
}

func TestOpenAPISerialize(t *testing.T) {
	tests := []struct {
		p    apiParam
		arg  string
		want []pair
	}{
		{apiParam{name: "q", in: "query", style: "form", explode: true}, `["a","b"]`, []pair{{"q", "a"}, {"q", "b"}}},
		{apiParam{name: "q", in: "query", style: "form"}, `["a","b"]`, []pair{{"q", "a,b"}}},
		{apiParam{name: "q", in: "query", style: "pipeDelimited"}, `["a",1]`, []pair{{"q", "a|1"}}},
		{apiParam{name: "q", in: "query", style: "spaceDelimited"}, `[true,1.50]`, []pair{{"q", "true 1.50"}}},
		{apiParam{name: "f", in: "query", style: "deepObject", explode: true}, `{"b":2,"a":"x"}`, []pair{{"f[a]", "x"}, {"f[b]", "2"}}},
		{apiParam{name: "f", in: "query", style: "form", explode: true}, `{"b":2,"a":"x"}`, []pair{{"a", "x"}, {"b", "2"}}},
		{apiParam{name: "f", in: "query", style: "form"}, `{"b":2,"a":"x"}`, []pair{{"f", "a,x,b,2"}}},
		{apiParam{name: "H", in: "header", style: "simple", explode: true}, `{"a":"x"}`, []pair{{"H", "a=x"}}},
		{apiParam{name: "id", in: "path", style: "simple"}, `["a","b"]`, []pair{{"id", "a,b"}}},
		{apiParam{name: "j", in: "query", style: "form", json: true}, `{"a": [1, 2]}`, []pair{{"j", `{"a":[1,2]}`}}},
		{apiParam{name: "n", in: "query", style: "form"}, `12345678901234567890`, []pair{{"n", "12345678901234567890"}}},
	}
	for _, tt := range tests {
		// prepareAPI hands serialize a JSON-content parameter's compact
		// text and any other with its numbers as written.
		var v any
		if tt.p.json {
			var buf bytes.Buffer
			if err := json.Compact(&buf, []byte(tt.arg)); err != nil {
				t.Fatal(err)
			}
			v = json.RawMessage(buf.Bytes())
		} else {
			d := json.NewDecoder(strings.NewReader(tt.arg))
			d.UseNumber()
			if err := d.Decode(&v); err != nil {
				t.Fatal(err)
			}
		}
		got, err := tt.p.serialize(v)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%+v %s = %v, %v; want %v", tt.p, tt.arg, got, err, tt.want)
		}
	}
}

func TestOpenAPINames(t *testing.T) {
	tests := []struct {
		id, method, path string
		want             string
	}{
		{"getForecast", "GET", "/forecast", "get_forecast"},
		{"list-users", "GET", "/users", "list_users"},
		{"HTTPServerStatus", "GET", "/", "http_server_status"},
		{"getV2Users", "GET", "/", "get_v2_users"},
		{"Users.List", "GET", "/", "users_list"},
		{"request", "POST", "/", "request"},
		{"123abc", "GET", "/", "op_123abc"},
		// Cut to 32 with a hash of the whole name, so names that differ
		// only past the cut stay apart.
		{"getAllTheForecastsForEveryCityInTheWorld", "GET", "/", "get_all_the_forecasts_for_f70399"},
		{"getAllTheForecastsForEveryCityInTheUniverse", "GET", "/", "get_all_the_forecasts_for_d2a064"},
		{"", "GET", "/users/{id}", "get_users_id"},
		{"", "PATCH", "/userGroups/{groupId}/members", "patch_user_groups_group_i_2e987a"},
		{"", "DELETE", "/", "delete"},
		{"日本", "PUT", "/items", "put_items"},
	}
	for _, tt := range tests {
		got, err := opNameFor(tt.id, tt.method, tt.path, maxOpNameLen)
		if err != nil || got != tt.want {
			t.Errorf("opNameFor(%q, %s %s) = %q, %v; want %q", tt.id, tt.method, tt.path, got, err, tt.want)
		}
	}

	// "<resource>_<op>" stays a valid tool name however long the resource's name.
	s := openapiSpec("https://api.example/", writeDoc(t, "long.yaml", miniDoc(`
  /a:
    get:
      operationId: getAllTheForecastsForEveryCityInTheWorld
      responses: {"200": {description: ok}}
`)))
	s.Name = strings.Repeat("r", 40)
	for _, op := range newConn(t, s).Operations() {
		if n := len(s.Name) + 1 + len(op.Name); n > 64 {
			t.Errorf("tool %s_%s is %d bytes", s.Name, op.Name, n)
		}
	}
}

// An operation may be called "request": with a document there is no
// generic tool for it to collide with.
func TestOpenAPIRequestName(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	doc := writeDoc(t, "req.json", `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{
		"/requests":{"post":{"operationId":"request","requestBody":{"content":{"application/json":{"schema":{"type":"string"}}}},
		"responses":{"200":{"description":"ok"}}}}}}`)
	c := newConn(t, openapiSpec(up.URL+"/v1/", doc))
	if ops := c.Operations(); len(ops) != 1 || ops[0].Name != "request" || ops[0].Target != "/v1/requests" {
		t.Fatalf("operations %+v", ops)
	}
	if _, _, err := callAPI(t, c, "request", map[string]any{"body": "hello"}); err != nil {
		t.Fatal(err)
	}
	// A JSON string body is sent as JSON, not as text.
	r, body := up.last(t)
	if string(body) != `"hello"` || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("upstream body %q (%s), want \"hello\" as JSON", body, r.Header.Get("Content-Type"))
	}
}

func TestOpenAPIInvalidDocuments(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	ok200 := `responses: {"200": {description: ok}}`
	tests := []struct {
		name, src string
		want      string
	}{
		{"swagger", "swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {}\n", "Swagger (OpenAPI 2)"},
		{"openapi2", "openapi: 2.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n", "Swagger (OpenAPI 2)"},
		{"openapi4", "openapi: 4.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n", `unsupported OpenAPI version "4.0.0"`},
		{"openapi33", "openapi: 3.3.0\ninfo: {title: t, version: '1'}\npaths: {}\n", `unsupported OpenAPI version "3.3.0"`},
		{"malformed", "openapi: 3.0.3\ninfo: {title: t\n", "not a readable OpenAPI document"},
		{"external-file", miniDoc("  /a:\n    get:\n      " + ok200 + "\n      parameters: [{$ref: 'other.yaml#/P'}]\n"), `the $ref "other.yaml#/P" points outside the document`},
		{"external-url", miniDoc("  /a:\n    get:\n      " + ok200 + "\n      parameters: [{$ref: '" + up.URL + "/p.yaml#/P'}]\n"), "points outside the document"},
		{"invalid", miniDoc("  /a/{id}:\n    get:\n      " + ok200 + "\n"), "not a valid OpenAPI document: GET /a/{id}: the path parameter {id} is not declared"},
		{"external-schema", miniDoc("  /a:\n    post:\n      " + ok200 + "\n      requestBody: {content: {application/json: {schema: {$ref: 'other.yaml#/S'}}}}\n"), `the $ref "other.yaml#/S" points outside the document`},
		{"external-unused", miniDoc("  /a:\n    get:\n      " + ok200 + "\ncomponents:\n  schemas:\n    S: {$ref: 'other.yaml#/S'}\n"), `the $ref "other.yaml#/S" points outside the document`},
		{"external-nested", miniDoc("  /a:\n    post:\n      " + ok200 + "\n      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/S'}}}}\ncomponents:\n  schemas:\n    S: {type: object, properties: {p: {items: {$ref: 'other.yaml#/S'}}}}\n"), `the $ref "other.yaml#/S" points outside the document`},
		{"missing-ref", miniDoc("  /a:\n    get:\n      " + ok200 + "\n      parameters: [{$ref: '#/components/parameters/Nope'}]\n"), "not a valid OpenAPI document: component `#/components/parameters/Nope` does not exist"},
		{"ref-cycle", miniDoc("  /a:\n    post:\n      " + ok200 + "\n      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/A'}}}}\ncomponents:\n  schemas:\n    A: {$ref: '#/components/schemas/B'}\n    B: {$ref: '#/components/schemas/A'}\n"), "POST /a: not a valid schema: build schema failed: circular reference 'A -> B -> A'"},
		{"not-openapi", "title: t\npaths: {}\n", "not an OpenAPI document"},
		{"no-title", "openapi: 3.0.3\ninfo: {version: '1'}\npaths: {}\n", "not a valid OpenAPI document: the info object needs a title and a version"},
		{"no-paths", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n", "not a valid OpenAPI document: the document has no paths object"},
		{"paths-not-object", "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: 5\n", "not a valid OpenAPI document: line 3: paths is not an object"},
		{"operation-not-object", miniDoc("  /a:\n    get: 7\n"), "not a valid OpenAPI document: GET /a: line 5: the operation is not an object"},
		{"undeclared-in-path", miniDoc("  /a:\n    get:\n      parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n      " + ok200 + "\n"), `GET /a: the path parameter "id" is not in the path`},
		{"path-not-required", miniDoc("  /a/{id}:\n    get:\n      parameters: [{name: id, in: path, schema: {type: string}}]\n      " + ok200 + "\n"), `GET /a/{id}: the path parameter "id" must be required`},
		{"no-name", miniDoc("  /a:\n    get:\n      parameters: [{in: query, schema: {type: string}}]\n      " + ok200 + "\n"), "GET /a: a parameter has no name"},
		{"bad-in", miniDoc("  /a:\n    get:\n      parameters: [{name: q, in: body, schema: {type: string}}]\n      " + ok200 + "\n"), `GET /a: the parameter "q" is in "body"`},
		{"schema-and-content", miniDoc("  /a:\n    get:\n      parameters: [{name: q, in: query, schema: {type: string}, content: {application/json: {}}}]\n      " + ok200 + "\n"), `GET /a: the query parameter "q" needs exactly one of schema and content`},
		{"twice", miniDoc("  /a:\n    parameters: [{name: q, in: query, schema: {type: string}}, {name: q, in: query, schema: {type: string}}]\n    get:\n      " + ok200 + "\n"), `/a: the query parameter "q" is declared twice`},
		{"no-body-content", miniDoc("  /a:\n    post:\n      requestBody: {required: true}\n      " + ok200 + "\n"), "POST /a: the request body has no content"},
		{"no-responses", miniDoc("  /a:\n    get: {summary: s}\n"), "GET /a: the operation has no responses"},
		{"no-description", miniDoc("  /a:\n    get:\n      responses: {'200': {content: {}}}\n"), "GET /a: a response has no description"},
		{"bad-type", miniDoc("  /a:\n    get:\n      parameters: [{name: q, in: query, schema: {type: strin}}]\n      " + ok200 + "\n"), `GET /a: not a valid schema: "strin" is not a JSON Schema type`},
		{"schema-not-object", miniDoc("  /a:\n    get:\n      parameters: [{name: q, in: query, schema: 5}]\n      " + ok200 + "\n"), "GET /a: not a valid schema: line 6: a schema is not an object"},
		{"too-deep", miniDoc("  /a:\n    get:\n      " + ok200 + "\n      x-deep: " + strings.Repeat("[", 250) + strings.Repeat("]", 250) + "\n"), "the document nests more than 200 levels deep"},
		{"alias-cycle", miniDoc("  /a:\n    get:\n      " + ok200 + "\n      x-loop: &loop {a: *loop}\n"), "nests more than 200 levels deep"},
		{"duplicate-keys", miniDoc("  /a:\n    get:\n      " + ok200 + "\n  /a:\n    get:\n      " + ok200 + "\n"), "not a readable OpenAPI document"},
		{"duplicate", miniDoc("  /a:\n    get:\n      operationId: getForecast\n      " + ok200 + "\n  /b:\n    get:\n      operationId: get_forecast\n      " + ok200 + "\n"), `GET /a and GET /b both become the tool "get_forecast"`},
		{"duplicate-derived", miniDoc("  /a:\n    get:\n      operationId: getUsers\n      " + ok200 + "\n  /users:\n    get:\n      " + ok200 + "\n"), `both become the tool "get_users"`},
		{"empty", miniDoc("  /a:\n    trace:\n      " + ok200 + "\n"), "no operation Warden can offer"},
		{"matrix", miniDoc("  /a/{id}:\n    get:\n      parameters: [{name: id, in: path, required: true, style: matrix, schema: {type: string}}]\n      " + ok200 + "\n"), `style "matrix"`},
		{"dot-segment", miniDoc("  /a/../admin:\n    get:\n      " + ok200 + "\n"), "segment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := writeDoc(t, tt.name+".yaml", tt.src)
			os.WriteFile(filepath.Join(filepath.Dir(doc), "other.yaml"), []byte("P: {name: x, in: query, schema: {type: string}}\n"), 0o600)
			c, err := New(openapiSpec("https://api.example/v1/", doc), core.Host{})
			if err == nil {
				c.Close()
				t.Fatalf("New succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), doc) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to name %s and contain %q", err, doc, tt.want)
			}
			if core.KindOf(err) != core.KindInvalid {
				t.Errorf("error kind %v, want invalid", core.KindOf(err))
			}
		})
	}
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	if _, err := New(openapiSpec("https://api.example/", missing), core.Host{}); err == nil || !strings.Contains(err.Error(), "cannot read the OpenAPI document "+missing+": no such file or directory") {
		t.Errorf("missing file: %v", err)
	}
	if n := up.requests.Load(); n != 0 {
		t.Errorf("loading documents made %d requests, want none", n)
	}
}

// Schemas beyond what a tool schema may hold are loosened, never broken:
// 3.1 keywords the checker does not know are dropped, patterns Go cannot
// compile are dropped, a schema without a type takes any.
func TestOpenAPI31Schemas(t *testing.T) {
	doc := writeDoc(t, "v31.yaml", `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /things/{id}:
    put:
      operationId: putThing
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer, exclusiveMinimum: 0, examples: [7]}}
        - {name: filter, in: query, content: {application/json: {schema: {type: object}}}}
        - {name: anything, in: query, schema: {description: Any value.}}
        - {name: code, in: query, schema: {type: [string, "null"], pattern: "^(?!x)[a-z]+$", const: abc}}
        - {name: "page[size]", in: query, schema: {type: integer}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [a]
              properties:
                a: {type: array, prefixItems: [{type: string}], items: {type: number}}
                b: {if: {type: string}, then: {minLength: 1}}
      responses: {"200": {description: ok}}
`)
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, openapiSpec(up.URL+"/v1/", doc))
	op := c.Operations()[0]
	if err := connectortest.CheckInputSchema(op.InputSchema); err != nil {
		t.Fatalf("%s: %v\n%s", op.Name, err, op.InputSchema)
	}
	p := schemaOf(t, c, "put_thing").Properties
	if p["id"]["exclusiveMinimum"] != 0.0 || fmt.Sprint(p["code"]["type"]) != "[string null]" || p["code"]["pattern"] != nil {
		t.Errorf("id = %v, code = %v", p["id"], p["code"])
	}
	if fmt.Sprint(p["anything"]["type"]) != fmt.Sprint(anyType) || p["filter"]["type"] != "object" || p["page_size_"] == nil {
		t.Errorf("anything = %v, filter = %v, properties %v", p["anything"], p["filter"], p)
	}
	if req := schemaOf(t, c, "put_thing").Required; !slices.Equal(req, []string{"id"}) {
		t.Errorf("required = %v, want [id] (the body is optional)", req)
	}
	if b := p["body"]; fmt.Sprint(b["required"]) != "[a]" || b["additionalProperties"] != false {
		t.Errorf("body = %v", b)
	}
	_, _, err := callAPI(t, c, "put_thing", map[string]any{"id": 3, "filter": map[string]any{"a": 1}, "page_size_": 10, "body": map[string]any{"a": []int{1}}})
	if err != nil {
		t.Fatal(err)
	}
	r, body := up.last(t)
	want := url.Values{"filter": {`{"a":1}`}, "page[size]": {"10"}}
	if r.Method != "PUT" || r.URL.Path != "/v1/things/3" || !reflect.DeepEqual(r.URL.Query(), want) || string(body) != `{"a":[1]}` {
		t.Errorf("upstream got %s %s %v %s", r.Method, r.URL.Path, r.URL.Query(), body)
	}
}

func TestOpenAPIContract(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	connectortest.Run(t, connectortest.Contract{
		New:   func(t *testing.T) core.Connector { return newConn(t, openapiSpec(up.URL+"/v1/", weatherDoc)) },
		Valid: core.Invocation{Op: "get_station", Args: json.RawMessage(`{"id":"s1"}`)},
		Invalid: []core.Invocation{
			{Op: "get_station", Args: json.RawMessage(`{"id":".."}`)},
			{Op: "get_station", Args: json.RawMessage(`{"id":"../admin"}`)},
			{Op: "get_station", Args: json.RawMessage(`{"id":"a/b"}`)},
			{Op: "get_station", Args: json.RawMessage(`{"id":"s1","path":"/admin"}`)},
			{Op: "get_forecast", Args: json.RawMessage(`{"days":3}`)},
			{Op: "get_forecast", Args: json.RawMessage(`{"city":"x","X-Request-Id":"1\r\nHost: evil"}`)},
			{Op: OpRequest, Args: json.RawMessage(`{"method":"GET","path":"admin"}`)},
		},
	})
}

// The engine offers an operation only to an agent whose grants could
// cover its method and path.
func TestOpenAPIEngineOffersGrantedOperations(t *testing.T) {
	doc, err := filepath.Abs(weatherDoc)
	if err != nil {
		t.Fatal(err)
	}
	e := testEngine(t, fmt.Sprintf(`version: 1
resources:
  weather: {kind: http, base_url: "https://api.example/v1/", openapi: %q}
agents:
  bot:
    grants:
      - {resource: weather, actions: [GET], paths: ["/v1/forecast"]}
  ops:
    grants:
      - {resource: weather, actions: [GET, DELETE], paths: ["/v1/stations/*"]}
`, doc))
	for agent, want := range map[string][]string{
		"bot": {"weather_get_forecast"},
		"ops": {"weather_get_station", "weather_delete_stations_id"},
	} {
		var names []string
		for _, tool := range e.Tools(agent) {
			names = append(names, tool.Name)
		}
		if !slices.Equal(names, want) {
			t.Errorf("%s's tools %v, want %v", agent, names, want)
		}
	}
}

// Recursive schemas of every kind libopenapi reports as circular load,
// each spelled out once, without hanging.
func TestOpenAPICircularSchemas(t *testing.T) {
	doc := writeDoc(t, "circular.yaml", `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /nodes:
    post:
      operationId: putNode
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                node: {$ref: "#/components/schemas/Node"}
                tree: {$ref: "#/components/schemas/Tree"}
                expr: {$ref: "#/components/schemas/Expr"}
                a: {$ref: "#/components/schemas/A"}
      responses: {"200": {description: ok}}
components:
  schemas:
    Node:
      type: object
      required: [child]
      properties:
        child: {$ref: "#/components/schemas/Node"}
    Tree:
      type: object
      properties:
        children: {type: array, items: {$ref: "#/components/schemas/Tree"}}
    Expr:
      oneOf: [{$ref: "#/components/schemas/Lit"}, {$ref: "#/components/schemas/Bin"}]
    Lit: {type: number}
    Bin:
      type: object
      required: [left, right]
      properties:
        left: {$ref: "#/components/schemas/Expr"}
        right: {$ref: "#/components/schemas/Expr"}
    A:
      type: object
      properties:
        b: {$ref: "#/components/schemas/B"}
    B:
      type: object
      properties:
        a: {$ref: "#/components/schemas/A"}
`)
	c := newConn(t, openapiSpec("https://api.example/v1/", doc))
	op := c.Operations()[0]
	if err := connectortest.CheckInputSchema(op.InputSchema); err != nil {
		t.Fatalf("%v\n%s", err, op.InputSchema)
	}
	var s struct {
		Properties struct {
			Body struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"body"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(op.InputSchema, &s); err != nil {
		t.Fatal(err)
	}
	const note = "Recursive: the same structure as the enclosing value."
	for name, want := range map[string]string{
		"node": `{"properties":{"child":{"description":"` + note + `","type":"object"}},"required":["child"],"type":"object"}`,
		"tree": `{"properties":{"children":{"items":{"description":"` + note + `","type":"object"},"type":"array"}},"type":"object"}`,
		"a":    `{"properties":{"b":{"properties":{"a":{"description":"` + note + `","type":"object"}},"type":"object"}},"type":"object"}`,
	} {
		if got := string(s.Properties.Body.Properties[name]); got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	if got := string(s.Properties.Body.Properties["expr"]); !strings.Contains(got, `"left":{"description":"`+note+`"}`) {
		t.Errorf("expr = %s, want the recursion cut at left", got)
	}
}

// In OpenAPI 3.1 the keywords beside a $ref apply too, as in JSON Schema
// 2020-12, and override the referenced schema's; in 3.0 they are ignored.
func TestOpenAPIRefSiblings(t *testing.T) {
	const paths = `paths:
  /a:
    post:
      operationId: post
      parameters:
        - {name: q, in: query, schema: {$ref: "#/components/schemas/Code", description: "The query.", maxLength: 5}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                owner: {$ref: "#/components/schemas/Person", description: "Who owns it.", readOnly: true}
                author: {$ref: "#/components/schemas/Person", title: Author}
      responses: {"200": {description: ok}}
components:
  schemas:
    Code: {type: string, description: A code., minLength: 2, default: ab}
    Person:
      type: object
      description: A person.
      properties:
        name: {type: string}
`
	for _, v := range []string{"3.0.3", "3.1.0"} {
		t.Run(v, func(t *testing.T) {
			doc := writeDoc(t, "siblings.yaml", "openapi: "+v+"\ninfo: {title: t, version: '1'}\n"+paths)
			c := newConn(t, openapiSpec("https://api.example/v1/", doc))
			op := c.Operations()[0]
			if err := connectortest.CheckInputSchema(op.InputSchema); err != nil {
				t.Fatalf("%v\n%s", err, op.InputSchema)
			}
			p := schemaOf(t, c, "post").Properties
			q, body := p["q"], p["body"]["properties"].(map[string]any)
			author, _ := body["author"].(map[string]any)
			if v == "3.0.3" {
				if q["description"] != "A code." || q["maxLength"] != nil || q["minLength"] != 2.0 || q["default"] != "ab" {
					t.Errorf("q = %v, want Code alone", q)
				}
				if body["owner"] == nil || author["title"] != nil || author["description"] != "A person." {
					t.Errorf("body properties = %v, want Person alone", body)
				}
				return
			}
			if q["description"] != "The query." || q["maxLength"] != 5.0 || q["minLength"] != 2.0 || q["type"] != "string" || q["default"] != "ab" {
				t.Errorf("q = %v, want Code with the description and maxLength beside its $ref", q)
			}
			if body["owner"] != nil {
				t.Errorf("owner = %v, want it left out as readOnly", body["owner"])
			}
			if author["title"] != "Author" || author["description"] != "A person." || author["properties"] == nil {
				t.Errorf("author = %v, want Person with the title beside its $ref", author)
			}
		})
	}
}

// libopenapi logs to standard output unless told otherwise; standard
// output may be the MCP connection, so loading writes nothing there.
func TestOpenAPILoadIsQuiet(t *testing.T) {
	docs := []string{
		weatherDoc,
		writeDoc(t, "missing.yaml", miniDoc("  /a:\n    get:\n      responses: {'200': {description: ok}}\n      parameters: [{$ref: '#/components/parameters/Nope'}]\n")),
		writeDoc(t, "external.yaml", miniDoc("  /a:\n    get:\n      responses: {'200': {description: ok}}\n      parameters: [{$ref: 'other.yaml#/P'}]\n")),
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = w, w
	for _, doc := range docs {
		if c, err := New(openapiSpec("https://api.example/v1/", doc), core.Host{}); err == nil {
			c.Close()
		}
	}
	os.Stdout, os.Stderr = stdout, stderr
	w.Close()
	out, _ := io.ReadAll(r)
	if len(out) > 0 {
		t.Errorf("loading wrote %q", out)
	}
}

// The generic tool is announced read-only exactly when the agent may only
// GET, HEAD or OPTIONS with it.
func TestRequestToolReadOnlyHint(t *testing.T) {
	e := testEngine(t, `version: 1
resources:
  api: {kind: http, base_url: "https://api.example/v1/"}
agents:
  reader:
    grants:
      - {resource: api, read_only: true}
  writer:
    grants:
      - {resource: api, read_only: true}
      - {resource: api, actions: [POST], paths: ["/v1/notes"]}
`)
	for agent, want := range map[string]bool{"reader": true, "writer": false} {
		tool := e.Tool(agent, "api_request")
		if tool == nil {
			t.Fatalf("%s has no api_request", agent)
		}
		if tool.ReadOnly != want {
			t.Errorf("%s: api_request ReadOnly = %v, want %v", agent, tool.ReadOnly, want)
		}
	}
}

// testEngine starts an engine without state on a policy's text.
func testEngine(t *testing.T, src string) *engine.Engine {
	t.Helper()
	p, err := policy.Compile([]byte(src), policy.WithBaseDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(context.Background(), p, engine.Options{NoState: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
