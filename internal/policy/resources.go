package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/netguard"
)

// kindActions are the actions each resource kind understands, in the order
// they are documented.
var kindActions = map[string][]string{
	core.KindFS:   {"read", "list", "search", "stat", "write", "edit", "mkdir", "move", "delete"},
	core.KindSQL:  {"query", "execute", "ddl"},
	core.KindHTTP: {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
}

// impliedActions lists actions that a granted action also allows: whoever
// may read, list or search a file may see its metadata.
var impliedActions = map[string]map[string][]string{
	core.KindFS: {"read": {"stat"}, "list": {"stat"}, "search": {"stat"}},
}

var kinds = []string{core.KindFS, core.KindSQL, core.KindHTTP}

// resourceName keeps "<resource>_<operation>" a valid MCP and OpenAI tool
// name (^[a-zA-Z0-9_-]{1,64}$).
var resourceName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,39}$`)

var resourceKeys = map[string][]string{
	core.KindFS:   {"kind", "description", "root", "allow_broad_root", "limits"},
	core.KindSQL:  {"kind", "description", "driver", "dsn", "strict_credentials", "limits"},
	core.KindHTTP: {"kind", "description", "base_url", "auth", "ca", "proxy", "allow_private", "openapi", "limits"},
}

func (c *compiler) resources(f field) {
	fields, _ := c.mapping(f.val, f.path, "resources", nil)
	for _, rf := range fields {
		c.declared[rf.key] = true
		if !resourceName.MatchString(rf.key) {
			c.add(rf.keyN, rf.path, "use letters, digits, _ and -, starting with a letter, at most 40 characters", "invalid resource name %q", rf.key)
			continue
		}
		c.resource(rf)
	}
}

func (c *compiler) resource(rf field) {
	fields, ok := c.mapping(rf.val, rf.path, "a resource", nil)
	if !ok {
		return
	}
	var kind string
	for _, f := range fields {
		if f.key == "kind" {
			kind, _ = c.str(f.val, f.path, "kind")
			if kind != "" && resourceKeys[kind] == nil {
				c.add(f.val, f.path, suggest(kind, kinds), "unknown resource kind %q", kind)
				return
			}
		}
	}
	if kind == "" {
		if rf.val != nil && len(fields) > 0 {
			c.add(rf.keyN, rf.path+".kind", "add kind: fs, kind: sql or kind: http", "resource %q has no kind", rf.key)
		} else {
			c.add(rf.keyN, rf.path, "add kind: and its settings", "resource %q is empty", rf.key)
		}
		return
	}
	spec := &core.ResourceSpec{Name: rf.key, Kind: kind, Position: c.pos(rf.keyN).String()}
	allowed := resourceKeys[kind]
	for _, f := range fields {
		if !contains(allowed, f.key) {
			c.add(f.keyN, f.path, suggest(f.key, allowed), "unknown key %q for a resource of kind %s", f.key, kind)
		}
	}
	get := func(key string) (field, bool) {
		for _, f := range fields {
			if f.key == key {
				return f, true
			}
		}
		return field{}, false
	}
	if f, ok := get("description"); ok {
		spec.Description, _ = c.str(f.val, f.path, "description")
	}
	switch kind {
	case core.KindFS:
		spec.FS = c.fsResource(rf, get)
	case core.KindSQL:
		spec.SQL = c.sqlResource(rf, get)
	case core.KindHTTP:
		spec.HTTP = c.httpResource(rf, get)
	}
	c.p.resources[rf.key] = &resource{spec: spec, actions: kindActions[kind]}
	c.p.resOrder = append(c.p.resOrder, rf.key)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *compiler) fsResource(rf field, get func(string) (field, bool)) *core.FSSpec {
	spec := &core.FSSpec{}
	f, ok := get("root")
	if !ok {
		c.add(rf.keyN, rf.path+".root", "add root: ./path/to/dir", "resource %q of kind fs needs a root directory", rf.key)
	} else if root, ok := c.str(f.val, f.path, "root"); ok {
		spec.Root = c.abs(root)
		switch fi, err := os.Stat(spec.Root); {
		case strings.TrimSpace(root) == "":
			// An empty root would silently mean the policy's directory.
			c.add(f.val, f.path, `write root: . for the policy's own directory, or the directory the agent needs, such as root: ./notes`, "root is empty")
		case err != nil:
			c.add(f.val, f.path, "create the directory or fix the path", "root %q does not exist or cannot be read", root)
		case !fi.IsDir():
			c.add(f.val, f.path, "point root at a directory", "root %q is not a directory", root)
		default:
			allow := false
			if af, ok := get("allow_broad_root"); ok {
				allow, _ = c.boolean(af.val, af.path, "allow_broad_root")
			}
			c.broadRoot(f, root, spec.Root, allow)
		}
	}
	if f, ok := get("limits"); ok {
		lf, _ := c.mapping(f.val, f.path, "limits", []string{"max_read_bytes", "max_file_bytes", "max_list_entries", "max_search_files", "max_search_bytes", "max_search_results", "search_timeout", "max_write_bytes"})
		l := &spec.Limits
		for _, x := range lf {
			switch x.key {
			case "max_read_bytes":
				l.MaxReadBytes, _ = c.size(x.val, x.path, x.key, 1, 1<<30)
			case "max_file_bytes":
				l.MaxFileBytes, _ = c.size(x.val, x.path, x.key, 1, 1<<40)
			case "max_list_entries":
				v, _ := c.integer(x.val, x.path, x.key, 1, 100_000)
				l.MaxListEntries = int(v)
			case "max_search_files":
				v, _ := c.integer(x.val, x.path, x.key, 1, 10_000_000)
				l.MaxSearchFiles = int(v)
			case "max_search_bytes":
				l.MaxSearchBytes, _ = c.size(x.val, x.path, x.key, 1, 1<<40)
			case "max_search_results":
				v, _ := c.integer(x.val, x.path, x.key, 1, 100_000)
				l.MaxSearchResults = int(v)
			case "search_timeout":
				l.SearchTimeout, _ = c.duration(x.val, x.path, x.key, 1e6, 3600e9)
			case "max_write_bytes":
				l.MaxWriteBytes, _ = c.size(x.val, x.path, x.key, 1, 1<<40)
			}
		}
	}
	return spec
}

var sqlDrivers = []string{"sqlite", "postgres", "mysql"}

func (c *compiler) sqlResource(rf field, get func(string) (field, bool)) *core.SQLSpec {
	spec := &core.SQLSpec{}
	f, ok := get("driver")
	if !ok {
		c.add(rf.keyN, rf.path+".driver", "add driver: sqlite, postgres or mysql", "resource %q of kind sql needs a driver", rf.key)
	} else if d, ok := c.str(f.val, f.path, "driver"); ok {
		if !contains(sqlDrivers, d) {
			c.add(f.val, f.path, suggest(d, sqlDrivers), "unknown sql driver %q", d)
		} else {
			spec.Driver = d
		}
	}
	if f, ok := get("dsn"); !ok {
		c.add(rf.keyN, rf.path+".dsn", "add dsn: ./file.db for SQLite, or dsn: env:NAME for a server", "resource %q of kind sql needs a dsn", rf.key)
	} else if dsn, ok := c.str(f.val, f.path, "dsn"); ok {
		if core.IsSecretRef(dsn) {
			var ok bool
			if spec.DSN, ok = c.secret(f.val, f.path, "dsn"); ok {
				// The password alone, in a file or a row, is as secret as
				// the whole DSN, which redaction would not find in it.
				if pw, ok := dsnPassword(spec.DSN.Reveal()); ok && pw != "" {
					c.p.secrets = append(c.p.secrets, core.NewSecret(spec.DSN.Ref()+" (password)", pw))
				}
			}
		} else if _, ok := dsnPassword(dsn); ok {
			c.add(f.val, f.path, "move the DSN into an environment variable or file and write dsn: env:NAME", "the dsn contains a password inline")
		} else {
			if spec.Driver == "sqlite" {
				dsn = c.abs(dsn)
			}
			spec.DSN = core.NewSecret("", dsn)
		}
	}
	if f, ok := get("strict_credentials"); ok {
		spec.StrictCredentials, _ = c.boolean(f.val, f.path, "strict_credentials")
	}
	if f, ok := get("limits"); ok {
		lf, _ := c.mapping(f.val, f.path, "limits", []string{"max_rows", "max_result_bytes", "timeout"})
		for _, x := range lf {
			switch x.key {
			case "max_rows":
				v, _ := c.integer(x.val, x.path, x.key, 1, 10_000_000)
				spec.Limits.MaxRows = int(v)
			case "max_result_bytes":
				spec.Limits.MaxResultBytes, _ = c.size(x.val, x.path, x.key, 1024, 1<<30)
			case "timeout":
				spec.Limits.Timeout, _ = c.duration(x.val, x.path, x.key, 1e6, 3600e9)
			}
		}
	}
	return spec
}

// dsnPassword finds the password of a DSN in URL form (postgres://u:p@h/db),
// key=value form (password=... or pwd=..., quoted or not) or MySQL's
// user:pass@tcp(host)/db form. ok is false when the DSN holds none.
func dsnPassword(dsn string) (pw string, ok bool) {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if u.User != nil {
			if pw, ok := u.User.Password(); ok {
				return pw, true
			}
		}
		if q := u.Query(); q.Has("password") {
			return q.Get("password"), true
		}
	}
	for _, field := range keyValueFields(dsn) {
		k, v, found := strings.Cut(field, "=")
		if k = strings.ToLower(strings.TrimSpace(k)); found && (k == "password" || k == "pwd") {
			return strings.Trim(strings.TrimSpace(v), `'"`), true
		}
	}
	// As the MySQL driver reads it: the last "@" before the last "/".
	if !strings.Contains(dsn, "://") {
		head := dsn
		if slash := strings.LastIndex(dsn, "/"); slash >= 0 {
			head = dsn[:slash]
		}
		if at := strings.LastIndex(head, "@"); at > 0 {
			if user, pw, found := strings.Cut(head[:at], ":"); found && !strings.Contains(user, "/") {
				return pw, true
			}
		}
	}
	return "", false
}

// keyValueFields splits "host=h password='a b' dbname=d" (PostgreSQL) or
// "Server=h;Pwd=p" on spaces and semicolons outside single quotes.
func keyValueFields(dsn string) []string {
	var fields []string
	var cur strings.Builder
	quoted := false
	for _, r := range dsn {
		switch {
		case r == '\'':
			quoted = !quoted
			cur.WriteRune(r)
		case !quoted && (r == ' ' || r == ';'):
			if cur.Len() > 0 {
				fields = append(fields, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		fields = append(fields, cur.String())
	}
	return fields
}

func (c *compiler) httpResource(rf field, get func(string) (field, bool)) *core.HTTPSpec {
	spec := &core.HTTPSpec{}
	if f, ok := get("base_url"); !ok {
		c.add(rf.keyN, rf.path+".base_url", "add base_url: https://api.example.com/v1/", "resource %q of kind http needs a base_url", rf.key)
	} else if s, ok := c.str(f.val, f.path, "base_url"); ok {
		if msg := checkBaseURL(s); msg != "" {
			c.add(f.val, f.path, "write an absolute URL such as https://api.example.com/v1/", "base_url %q %s", s, msg)
		} else {
			spec.BaseURL = s
			// url.Parse lowers the scheme, so HTTP:// warns like http://.
			if u, _ := url.Parse(s); u.Scheme == "http" {
				c.p.warnings = append(c.p.warnings, &Problem{Pos: c.pos(f.val), Path: f.path, Msg: "base_url uses plain http: requests and credentials travel unencrypted", Hint: "use https:// unless the service is on a trusted network"})
			}
		}
	}
	if f, ok := get("auth"); ok {
		spec.Auth = c.httpAuth(f)
	}
	if f, ok := get("ca"); ok {
		if s, ok := c.str(f.val, f.path, "ca"); ok {
			spec.CAFile = c.abs(s)
			if _, err := os.Stat(spec.CAFile); err != nil {
				c.add(f.val, f.path, "point ca at a PEM file", "ca file %q cannot be read", s)
			}
		}
	}
	if f, ok := get("proxy"); ok {
		if s, ok := c.str(f.val, f.path, "proxy"); ok {
			if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				c.add(f.val, f.path, "write http://host:port", "proxy %q is not an http(s) URL", s)
			} else {
				spec.Proxy = s
			}
		}
	}
	if f, ok := get("allow_private"); ok {
		list, nodes, _ := c.strList(f.val, f.path, "allow_private")
		for i, s := range list {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				if a, err2 := netip.ParseAddr(s); err2 == nil {
					p = netip.PrefixFrom(a, a.BitLen())
				} else {
					c.add(nodes[i], fmt.Sprintf("%s[%d]", f.path, i), "write a CIDR such as 10.0.0.0/8 or an address", "%q is not a CIDR", s)
					continue
				}
			}
			spec.AllowPrivate = append(spec.AllowPrivate, p.Masked())
		}
	}
	if f, ok := get("base_url"); ok && spec.BaseURL != "" {
		if msg := checkBaseHost(spec.BaseURL, spec.AllowPrivate); msg != "" {
			c.add(f.val, f.path, "point base_url at the API's public host name, or list its address in allow_private to reach an internal service deliberately", "base_url %q %s", spec.BaseURL, msg)
			spec.BaseURL = ""
		}
	}
	if f, ok := get("openapi"); ok {
		if s, ok := c.str(f.val, f.path, "openapi"); ok {
			spec.OpenAPI = c.abs(s)
			if _, err := os.Stat(spec.OpenAPI); err != nil {
				c.add(f.val, f.path, "point openapi at an OpenAPI 3 document", "openapi file %q cannot be read", s)
			}
		}
	}
	if f, ok := get("limits"); ok {
		lf, _ := c.mapping(f.val, f.path, "limits", []string{"max_response_bytes", "timeout", "calls_per_minute"})
		for _, x := range lf {
			switch x.key {
			case "max_response_bytes":
				spec.Limits.MaxResponseBytes, _ = c.size(x.val, x.path, x.key, 1024, 1<<30)
			case "timeout":
				spec.Limits.Timeout, _ = c.duration(x.val, x.path, x.key, 1e6, 3600e9)
			case "calls_per_minute":
				v, _ := c.integer(x.val, x.path, x.key, 1, 1_000_000)
				spec.Limits.CallsPerMinute = int(v)
			}
		}
	}
	return spec
}

func checkBaseURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Scheme != "https" && u.Scheme != "http":
		return "must use https (or http)"
	case u.Host == "" || u.Hostname() == "":
		return "has no host"
	case u.User != nil:
		return "must not contain credentials; use auth: with a secret reference"
	case u.RawQuery != "" || u.Fragment != "" || strings.Contains(s, "#"):
		return "must not have a query or fragment"
	}
	return ""
}

// checkBaseHost refuses a base URL host that is not canonically spelled
// (a number a resolver could read as IPv4, an IDN not in xn-- form), has
// an invalid port, or is an address netguard blocks and allow does not
// cover.
func checkBaseHost(s string, allow []netip.Prefix) string {
	u, err := url.Parse(s)
	if err != nil {
		return "is not a URL"
	}
	switch err := netguard.CheckHost(u.Hostname(), u.Port(), allow); {
	case err == nil:
		return ""
	case errors.Is(err, netguard.ErrPort):
		return "has an invalid port"
	case errors.Is(err, netguard.ErrBlocked):
		return "is an address Warden does not connect to: " + strings.TrimPrefix(err.Error(), netguard.ErrBlocked.Error()+": ")
	default:
		return "has a host Warden does not accept: " + strings.TrimPrefix(err.Error(), netguard.ErrHostSpelling.Error()+": ")
	}
}

// httpAuth decodes one of:
//
//	auth: {header: X-Api-Key, secret: env:KEY}
//	auth: {query: api_key, secret: env:KEY}
//	auth: {bearer: env:TOKEN}
//	auth: {basic: {username: bob, password: env:PASS}}
func (c *compiler) httpAuth(f field) *core.HTTPAuth {
	fields, ok := c.mapping(f.val, f.path, "auth", []string{"header", "query", "secret", "bearer", "basic"})
	if !ok {
		return nil
	}
	a := &core.HTTPAuth{Position: c.pos(f.keyN).String()}
	var secretField *field
	for i := range fields {
		x := fields[i]
		switch x.key {
		case "header", "query":
			if a.Scheme != "" {
				c.add(x.keyN, x.path, "use exactly one of header, query, bearer or basic", "auth sets both %s and %s", a.Scheme, x.key)
				continue
			}
			a.Scheme = x.key
			a.Name, _ = c.str(x.val, x.path, x.key)
			if a.Scheme == "header" && !validHeaderName(a.Name) {
				c.add(x.val, x.path, "write a header name such as X-Api-Key", "%q is not a valid header name", a.Name)
			}
		case "secret":
			secretField = &fields[i]
		case "bearer":
			if a.Scheme != "" {
				c.add(x.keyN, x.path, "use exactly one of header, query, bearer or basic", "auth sets both %s and bearer", a.Scheme)
				continue
			}
			a.Scheme = "bearer"
			a.Secret, _ = c.secret(x.val, x.path, "auth.bearer")
		case "basic":
			if a.Scheme != "" {
				c.add(x.keyN, x.path, "use exactly one of header, query, bearer or basic", "auth sets both %s and basic", a.Scheme)
				continue
			}
			a.Scheme = "basic"
			bf, _ := c.mapping(x.val, x.path, "auth.basic", []string{"username", "password"})
			var hasPass bool
			for _, b := range bf {
				switch b.key {
				case "username":
					a.Name, _ = c.str(b.val, b.path, "username")
				case "password":
					hasPass = true
					a.Secret, _ = c.secret(b.val, b.path, "auth.basic.password")
				}
			}
			if !hasPass {
				c.add(x.keyN, x.path, "add password: env:NAME", "basic auth needs a password")
			}
		}
	}
	switch a.Scheme {
	case "":
		c.add(f.keyN, f.path, "use header:, query:, bearer: or basic:", "auth names no scheme")
	case "header", "query":
		if secretField == nil {
			c.add(f.keyN, f.path, "add secret: env:NAME", "auth.%s needs a secret", a.Scheme)
		} else {
			a.Secret, _ = c.secret(secretField.val, secretField.path, "auth.secret")
		}
	default:
		if secretField != nil {
			c.add(secretField.keyN, secretField.path, "put the reference in "+a.Scheme+": instead", "auth.secret is only for header and query auth")
		}
	}
	return a
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch == '-' || ch == '_' || ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z') {
			return false
		}
	}
	return true
}
