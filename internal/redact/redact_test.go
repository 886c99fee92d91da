package redact

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
)

const secret = "s3cr3t/V@lue+<&>é😀"

// embed surrounds a form with text that must survive redaction.
func embed(form string) string { return "before " + form + " after" }

func TestRedactor_String_encodings(t *testing.T) {
	r := New(secret)
	htmlJSON, _ := json.Marshal(secret)
	tests := []struct {
		name string
		form string
	}{
		{"raw", secret},
		{"json-html-escaped", string(htmlJSON[1 : len(htmlJSON)-1])},
		{"json-plain", `s3cr3t/V@lue+<&>é😀`},
		{"json-escaped-slash", `s3cr3t\/V@lue+<&>é😀`},
		{"json-ascii", `s3cr3t/V@lue+<&>\u00e9\ud83d\ude00`},
		{"base64-std", base64.StdEncoding.EncodeToString([]byte(secret))},
		{"base64-std-raw", base64.RawStdEncoding.EncodeToString([]byte(secret))},
		{"base64-url", base64.URLEncoding.EncodeToString([]byte(secret))},
		{"base64-url-raw", base64.RawURLEncoding.EncodeToString([]byte(secret))},
		{"query-escape", url.QueryEscape(secret)},
		{"path-escape", url.PathEscape(secret)},
		{"query-escape-lower", "s3cr3t%2fV%40lue%2b%3c%26%3e%c3%a9%f0%9f%98%80"},
		{"hex-lower", hex.EncodeToString([]byte(secret))},
		{"hex-upper", strings.ToUpper(hex.EncodeToString([]byte(secret)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := embed(tt.form)
			want := embed(Marker)
			if got := r.String(in); got != want {
				t.Errorf("String(%q) = %q, want %q", in, got, want)
			}
			if got := string(r.Bytes([]byte(in))); got != want {
				t.Errorf("Bytes(%q) = %q, want %q", in, got, want)
			}
		})
	}
}

func TestRedactor_String_jsonDocument(t *testing.T) {
	r := New(secret)
	doc, err := json.Marshal(map[string]string{"password": secret})
	if err != nil {
		t.Fatal(err)
	}
	got := r.String(string(doc))
	want := `{"password":"[REDACTED]"}`
	if got != want {
		t.Errorf("String(%s) = %s, want %s", doc, got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Errorf("String(%s) = %s, not valid JSON", doc, got)
	}
}

func TestRedactor_String_basicAuth(t *testing.T) {
	const user, pass = "alice", "correct-horse-battery"
	header := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))

	// Only the value registered: the aligned core of the encoding goes, so
	// at most a few edge characters of the password's encoding remain.
	got := New(pass).String(header)
	if !strings.Contains(got, Marker) {
		t.Errorf("New(pass).String(%q) = %q, want the password's base64 core redacted", header, got)
	}
	// The composite registered too: the whole credential goes.
	got = New(pass, user+":"+pass).String(header)
	if want := "Authorization: Basic " + Marker; got != want {
		t.Errorf("New(pass, composite).String(%q) = %q, want %q", header, got, want)
	}
}

func TestRedactor_String_shiftedBase64(t *testing.T) {
	const value = "0123456789abcdef"
	r := New(value)
	for prefix := range 3 {
		payload := strings.Repeat("x", prefix) + value + "tail"
		enc := base64.StdEncoding.EncodeToString([]byte(payload))
		got := r.String(enc)
		if !strings.Contains(got, Marker) {
			t.Errorf("String(base64(%q)) = %q, want a redacted core", payload, got)
		}
		// A 16-byte value has a core of at least 12 bytes (16 characters)
		// at every alignment.
		if left := len(got) - len(Marker); left > len(enc)-16 {
			t.Errorf("String(base64(%q)) = %q: %d characters left, want at most %d", payload, got, left, len(enc)-16)
		}
	}
}

func TestRedactor_String_overlap(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		in     string
		want   string
	}{
		{"nested", []string{"secret", "my-secret-value"}, "x my-secret-value y", "x [REDACTED] y"},
		{"nested-reversed", []string{"my-secret-value", "secret"}, "x my-secret-value y secret", "x [REDACTED] y [REDACTED]"},
		{"chained", []string{"abcdef", "defghi"}, "-abcdefghi-", "-[REDACTED]-"},
		{"self-overlap", []string{"abab"}, "ababab", "[REDACTED]"},
		{"adjacent", []string{"aaaa", "bbbb"}, "aaaabbbb", "[REDACTED]"},
		{"repeated", []string{"tok3n"}, "tok3n tok3n", "[REDACTED] [REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(tt.values...)
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("New(%q).String(%q) = %q, want %q", tt.values, tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactor_noMatch(t *testing.T) {
	tests := []struct {
		name string
		r    *Redactor
	}{
		{"nil", nil},
		{"no-values", New()},
		{"only-empty", New("", "")},
		{"unrelated", New("hunter2-long-secret")},
	}
	in := []byte(`{"path":"docs/readme.md","mode":"read"}`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.String(string(in)); got != string(in) {
				t.Errorf("String(%s) = %s, want unchanged", in, got)
			}
			got := tt.r.Bytes(in)
			if &got[0] != &in[0] || len(got) != len(in) {
				t.Errorf("Bytes(%s) returned a copy %s, want the input slice itself", in, got)
			}
		})
	}
}

func TestRedactor_emptyInput(t *testing.T) {
	r := New("secret-value")
	if got := r.String(""); got != "" {
		t.Errorf(`String("") = %q, want ""`, got)
	}
	if got := r.Bytes(nil); got != nil {
		t.Errorf("Bytes(nil) = %q, want nil", got)
	}
}

func TestRedactor_Bytes_doesNotModifyInput(t *testing.T) {
	r := New("secret-value")
	in := []byte("a secret-value b")
	orig := string(in)
	got := r.Bytes(in)
	if string(in) != orig {
		t.Errorf("Bytes modified its input: %q, want %q", in, orig)
	}
	if want := "a [REDACTED] b"; string(got) != want {
		t.Errorf("Bytes(%q) = %q, want %q", orig, got, want)
	}
}

func TestRedactor_Add(t *testing.T) {
	a := New("first-secret")
	b := a.Add("second-secret", "")
	const in = "first-secret second-secret"
	if got, want := a.String(in), "[REDACTED] second-secret"; got != want {
		t.Errorf("a.String(%q) = %q, want %q (Add must not change a)", in, got, want)
	}
	if got, want := b.String(in), "[REDACTED] [REDACTED]"; got != want {
		t.Errorf("b.String(%q) = %q, want %q", in, got, want)
	}
	if got, want := b.Len(), 2; got != want {
		t.Errorf("b.Len() = %d, want %d", got, want)
	}
	var nilR *Redactor
	if got, want := nilR.Add("first-secret").String(in), "[REDACTED] second-secret"; got != want {
		t.Errorf("nil.Add().String(%q) = %q, want %q", in, got, want)
	}
}

func TestRedactor_concurrent(t *testing.T) {
	base := New("alpha-secret")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			r := base
			if i%2 == 0 {
				r = base.Add("beta-secret")
			}
			for range 200 {
				if got := r.String("x alpha-secret y"); got != "x [REDACTED] y" {
					t.Errorf("String = %q, want %q", got, "x [REDACTED] y")
					return
				}
				_ = r.Bytes([]byte("beta-secret"))
			}
		})
	}
	wg.Wait()
}

// clean reports whether no text between markers of out contains form.
func clean(out, form string) bool {
	for _, seg := range strings.Split(out, Marker) {
		if strings.Contains(seg, form) {
			return false
		}
	}
	return true
}

func FuzzRedact(f *testing.F) {
	f.Add("hunter2", "password=hunter2&x=1")
	f.Add("abab", "ababababa")
	f.Add("D]x", "[REDACTED]x")
	f.Add("s3cr3t", "czNjcjN0 s3cr3t 733363723374")
	f.Fuzz(func(t *testing.T, secret, in string) {
		if secret == "" {
			return
		}
		r := New(secret)
		forms := map[string]string{
			"raw":    secret,
			"base64": base64.StdEncoding.EncodeToString([]byte(secret)),
		}
		// Plant each form once so every run exercises a match.
		for _, text := range []string{in, in + secret + in, forms["base64"] + in} {
			out := r.String(text)
			if string(r.Bytes([]byte(text))) != out {
				t.Fatalf("Bytes(%q) != String(%q)", text, text)
			}
			for name, form := range forms {
				if !clean(out, form) {
					t.Fatalf("New(%q).String(%q) = %q: %s form survives between markers", secret, text, out, name)
				}
				// A form that shares no byte with the marker cannot straddle
				// one, so it must be gone from the output entirely.
				if !strings.ContainsAny(form, Marker) && strings.Contains(out, form) {
					t.Fatalf("New(%q).String(%q) = %q: %s form survives", secret, text, out, name)
				}
			}
		}
	})
}

func BenchmarkRedactor_Bytes_noMatch(b *testing.B) {
	r := New("db-password-123456", "sk-live-0123456789abcdef", "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")
	in := []byte(strings.Repeat(`{"seq":1,"tool":"fs_read","args":{"path":"docs/readme.md"}}`, 8))
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		r.Bytes(in)
	}
}
