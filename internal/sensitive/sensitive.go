// Package sensitive recognises files that usually hold secrets: dotenv
// files, SSH and GPG keys, certificates and private keys, cloud, container
// and tool credentials, password databases such as /etc/shadow, and shell
// histories. Warden hides and refuses them unless a grant names them
// explicitly, because a broad grant such as "read everything" is rarely
// meant to include them.
//
// The lists below are the one place these names live; [Patterns] returns
// them for display (warden policy sensitive prints it, and the README's
// list is checked against it).
//
// Matching is case-insensitive, so ".ENV" on a case-insensitive filesystem
// is caught like ".env".
package sensitive

import (
	"slices"
	"strings"
)

// dirs are directory names whose whole contents are sensitive.
var dirs = map[string]bool{
	".ssh":            true,
	".gnupg":          true,
	".aws":            true,
	".azure":          true,
	".kube":           true, // kubeconfigs (.kube/config) and cached tokens
	".password-store": true,
	".docker":         true, // .docker/config.json holds registry credentials
	".gcloud":         true,
	".oci":            true,
}

// pairs are parent → child names that are sensitive wherever they occur,
// such as ".git/config".
var pairs = map[string]map[string]bool{
	".git":         {"config": true},
	".config":      {"gcloud": true, "gh": true, "hub": true},
	".cargo":       {"credentials": true, "credentials.toml": true},
	".gem":         {"credentials": true},
	".terraform.d": {"credentials.tfrc.json": true},
}

// names are file or directory names that are sensitive wherever they occur.
var names = map[string]bool{
	".netrc":                               true,
	"_netrc":                               true,
	".pgpass":                              true,
	".my.cnf":                              true,
	".npmrc":                               true,
	".pypirc":                              true,
	".git-credentials":                     true,
	".htpasswd":                            true,
	".vault-token":                         true,
	".boto":                                true,
	".s3cfg":                               true,
	".dockercfg":                           true,
	"id_rsa":                               true,
	"id_dsa":                               true,
	"id_ecdsa":                             true,
	"id_ed25519":                           true,
	"id_ecdsa_sk":                          true,
	"id_ed25519_sk":                        true,
	"secring.gpg":                          true,
	"application_default_credentials.json": true,
	"credentials.json":                     true, // Google OAuth client and service-account files
	"kubeconfig":                           true,
	"terraform.tfstate":                    true,
	"terraform.tfstate.backup":             true,
	// Shell and REPL histories hold pasted tokens and passwords; dotfiles
	// ending in _history are caught by historySuffix.
	".history":     true,
	".histfile":    true,
	".zhistory":    true,
	".lesshst":     true,
	"fish_history": true,
}

// files are names that are sensitive as a file (the last component of a
// path) but common as directory names in projects: the system's password
// databases (/etc/shadow and its backups, the BSDs' master.passwd).
var files = map[string]bool{
	"shadow":        true,
	"shadow-":       true,
	"gshadow":       true,
	"gshadow-":      true,
	"master.passwd": true,
	"spwd.db":       true,
}

// historySuffix marks shell and REPL histories: .bash_history,
// .zsh_history, .python_history, .psql_history, .mysql_history, ...
const historySuffix = "_history"

// extensions are file-name extensions that mark key material, vaults and
// kubeconfigs.
var extensions = map[string]bool{
	"pem": true, "key": true, "p12": true, "pfx": true, "jks": true,
	"keystore": true, "ppk": true, "kdbx": true, "tfstate": true,
	"asc": true, "gpg": true, "kubeconfig": true,
}

// firstBytes holds the first byte of every name and file above, so the
// common, harmless name is rejected before any map lookup.
var firstBytes = func() (t [256]bool) {
	t['.'] = true
	for _, m := range []map[string]bool{dirs, names, files} {
		for n := range m {
			t[n[0]] = true
		}
	}
	return t
}()

// Patterns returns every pattern this package treats as sensitive, for
// display: "name" for a file or directory name anywhere, "name/" for a
// directory whose contents are all sensitive, "parent/name" for a pair,
// "*.ext" for an extension, and ".env*" and ".*_history" for the prefix and
// suffix rules. Names listed under files match only as the last component.
func Patterns() []string {
	out := []string{".env*", "." + "*" + historySuffix}
	for n := range dirs {
		out = append(out, n+"/")
	}
	for p, children := range pairs {
		for c := range children {
			out = append(out, p+"/"+c)
		}
	}
	for n := range names {
		out = append(out, n)
	}
	for n := range files {
		out = append(out, n)
	}
	for e := range extensions {
		out = append(out, "*."+e)
	}
	slices.Sort(out)
	return out
}

// Component reports whether one path component names a sensitive file by
// itself (a dotenv file, a key, a credentials file, a history, or a
// sensitive directory). Names such as "shadow" that are sensitive only as
// files are not included; see [Path].
func Component(name string) bool { return component(strings.ToLower(name)) }

// component is Component for an already lower-cased name.
func component(n string) bool {
	if n == "" {
		return false
	}
	if firstBytes[n[0]] {
		if strings.HasPrefix(n, ".env") || dirs[n] || names[n] {
			return true
		}
		if n[0] == '.' && len(n) > len(historySuffix)+1 && strings.HasSuffix(n, historySuffix) {
			return true
		}
	}
	if i := strings.LastIndexByte(n, '.'); i > 0 && len(n)-i <= 11 && extensions[n[i+1:]] {
		return true
	}
	return false
}

// Path reports whether a slash-separated path relative to a resource root is
// sensitive: any component is sensitive by itself, two adjacent components
// form a sensitive pair such as ".git/config", or the last component is a
// password database such as "shadow".
func Path(p string) bool {
	if p == "" || p == "." {
		return false
	}
	lower := strings.ToLower(p)
	prev, head := "", ""
	for len(lower) > 0 {
		head = lower
		if i := strings.IndexByte(lower, '/'); i >= 0 {
			head, lower = lower[:i], lower[i+1:]
		} else {
			lower = ""
		}
		if head == "" || head == "." {
			continue
		}
		if component(head) {
			return true
		}
		if prev != "" && prev[0] == '.' && pairs[prev][head] {
			return true
		}
		prev = head
	}
	return files[prev]
}

// Named reports whether a grant's path pattern names sensitive files
// explicitly: some segment, once its wildcards are removed, is itself a
// sensitive name ("*.pem", ".env*", ".ssh/**", "certs/server.key",
// "etc/shadow"), or two adjacent literal segments form a sensitive pair
// (".git/config"). Patterns such as "**" or "docs/*" do not name them, so
// broad grants keep them hidden.
func Named(pattern string) bool {
	segs := strings.Split(pattern, "/")
	prev := ""
	for _, s := range segs {
		stripped := strings.Map(func(r rune) rune {
			switch r {
			case '*', '?', '[', ']', '\\':
				return -1
			}
			return r
		}, s)
		if stripped != "" && (Component(stripped) || files[strings.ToLower(stripped)] || strings.HasPrefix(stripped, ".") && suffixOnly(stripped)) {
			return true
		}
		if pairs[strings.ToLower(prev)][strings.ToLower(s)] {
			return true
		}
		prev = s
	}
	return false
}

// suffixOnly reports whether s is exactly one of the sensitive suffixes, as
// left over from a pattern like "*.pem" or ".*_history".
func suffixOnly(s string) bool {
	l := strings.ToLower(s)
	return len(l) > 1 && l[0] == '.' && (extensions[l[1:]] || l == "."+historySuffix)
}
