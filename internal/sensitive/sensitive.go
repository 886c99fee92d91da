// Package sensitive recognises files that usually hold secrets: dotenv
// files, SSH and GPG keys, certificates and private keys, cloud and tool
// credentials. Warden hides and refuses them unless a grant names them
// explicitly, because a broad grant such as "read everything" is rarely
// meant to include them.
//
// Matching is case-insensitive, so ".ENV" on a case-insensitive filesystem
// is caught like ".env".
package sensitive

import "strings"

// dirs are directory names whose whole contents are sensitive.
var dirs = map[string]bool{
	".ssh":            true,
	".gnupg":          true,
	".aws":            true,
	".azure":          true,
	".kube":           true,
	".password-store": true,
	".docker":         true,
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

// names are file names that are sensitive wherever they occur.
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
	"credentials":                          false, // too generic alone; see pairs
	"application_default_credentials.json": true,
	"terraform.tfstate":                    true,
	"terraform.tfstate.backup":             true,
}

// extensions are file-name extensions that mark key material and vaults.
var extensions = map[string]bool{
	"pem": true, "key": true, "p12": true, "pfx": true, "jks": true,
	"keystore": true, "ppk": true, "kdbx": true, "tfstate": true,
	"asc": true, "gpg": true,
}

// Component reports whether one path component names a sensitive file by
// itself (a dotenv file, a key, a credentials file, or a sensitive
// directory).
func Component(name string) bool { return component(strings.ToLower(name)) }

// component is Component for an already lower-cased name. The byte checks
// before each map lookup keep the common, harmless name cheap.
func component(n string) bool {
	if n == "" {
		return false
	}
	switch n[0] {
	case '.', '_', 'i', 's', 'a', 't':
		if strings.HasPrefix(n, ".env") || dirs[n] || names[n] {
			return true
		}
	}
	if i := strings.LastIndexByte(n, '.'); i > 0 && len(n)-i <= 9 && extensions[n[i+1:]] {
		return true
	}
	return false
}

// Path reports whether a slash-separated path relative to a resource root is
// sensitive: any component is sensitive by itself, or two adjacent components
// form a sensitive pair such as ".git/config".
func Path(p string) bool {
	if p == "" || p == "." {
		return false
	}
	lower := strings.ToLower(p)
	prev := ""
	for len(lower) > 0 {
		head := lower
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
	return false
}

// Named reports whether a grant's path pattern names sensitive files
// explicitly: some segment, once its wildcards are removed, is itself a
// sensitive name ("*.pem", ".env*", ".ssh/**", "certs/server.key"), or two
// adjacent literal segments form a sensitive pair (".git/config"). Patterns
// such as "**" or "docs/*" do not name them, so broad grants keep them hidden.
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
		if stripped != "" && (Component(stripped) || strings.HasPrefix(stripped, ".") && suffixOnly(stripped)) {
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
// left over from a pattern like "*.pem".
func suffixOnly(s string) bool {
	return len(s) > 1 && s[0] == '.' && extensions[strings.ToLower(s[1:])]
}
