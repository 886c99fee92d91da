package approval

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// CanonicalArgs returns the canonical encoding of the JSON value raw: object
// keys sorted by their UTF-8 bytes, no insignificant whitespace, strings
// re-escaped the way encoding/json escapes them, and numbers kept exactly as
// written, so 1 and 1.0 stay distinct and big integers are never rounded.
// Empty input, null and {} all canonicalise to {}.
//
// Equal JSON values written differently (key order, whitespace, escapes such
// as "\u0061" for "a") give the same bytes; distinct values give distinct
// bytes. Input that two readers could understand differently is rejected
// rather than guessed at: invalid JSON, invalid UTF-8, duplicate object keys,
// and \u escapes naming half of a UTF-16 surrogate pair.
func CanonicalArgs(raw json.RawMessage) ([]byte, error) {
	// Only JSON's own whitespace: bytes.TrimSpace would also accept \v and
	// U+0085, which are not JSON.
	b := bytes.Trim(raw, " \t\r\n")
	if len(b) == 0 || string(b) == "null" {
		return []byte("{}"), nil
	}
	if !utf8.Valid(b) {
		return nil, errors.New("canonical args: invalid UTF-8")
	}
	if !json.Valid(b) {
		err := json.Unmarshal(b, new(any)) // only to say what is wrong
		return nil, fmt.Errorf("canonical args: invalid JSON: %w", err)
	}
	if err := checkSurrogates(b); err != nil {
		return nil, fmt.Errorf("canonical args: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, fmt.Errorf("canonical args: %w", err)
	}
	var out bytes.Buffer
	out.Grow(len(b))
	encodeValue(&out, v)
	return out.Bytes(), nil
}

// decodeValue builds a tree of map[string]any, []any, string, json.Number,
// bool and nil from the token stream. It reads tokens rather than using
// Unmarshal so that duplicate keys are seen instead of silently merged.
func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, err
		}
		return arr, nil
	case json.Delim('{'):
		obj := map[string]any{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, ok := tok.(string)
			if !ok {
				return nil, fmt.Errorf("object key is %T, not a string", tok)
			}
			if _, dup := obj[key]; dup {
				return nil, fmt.Errorf("duplicate object key %q", key)
			}
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			obj[key] = v
		}
		if _, err := dec.Token(); err != nil { // '}'
			return nil, err
		}
		return obj, nil
	}
	return tok, nil
}

func encodeValue(buf *bytes.Buffer, v any) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			encodeString(buf, k)
			buf.WriteByte(':')
			encodeValue(buf, v[k])
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			encodeValue(buf, e)
		}
		buf.WriteByte(']')
	case string:
		encodeString(buf, v)
	case json.Number:
		buf.WriteString(string(v))
	case bool:
		buf.WriteString(strconv.FormatBool(v))
	case nil:
		buf.WriteString("null")
	default:
		panic(fmt.Sprintf("approval: unexpected JSON token %T", v)) // decodeValue yields no other types
	}
}

func encodeString(buf *bytes.Buffer, s string) {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // marshalling a string cannot fail
	}
	buf.Write(b)
}

// checkSurrogates rejects \u escapes naming one half of a UTF-16 surrogate
// pair without the other. encoding/json decodes such a half to U+FFFD, so
// without this check "\ud800" and "\ufffd" would canonicalise alike. b must
// be valid JSON: there a backslash only occurs inside a string, where it
// starts an escape, and \u is always followed by four hex digits.
func checkSurrogates(b []byte) error {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if b[i+1] != 'u' {
			i++ // skip the escaped character, which may itself be a backslash
			continue
		}
		r := hex4(b[i+2 : i+6])
		switch {
		case r >= 0xd800 && r < 0xdc00:
			if i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
				if lo := hex4(b[i+8 : i+12]); lo >= 0xdc00 && lo < 0xe000 {
					i += 11
					continue
				}
			}
			return fmt.Errorf("unpaired UTF-16 surrogate escape %s", b[i:i+6])
		case r >= 0xdc00 && r < 0xe000:
			return fmt.Errorf("unpaired UTF-16 surrogate escape %s", b[i:i+6])
		}
		i += 5
	}
	return nil
}

func hex4(b []byte) rune {
	n, err := strconv.ParseUint(string(b), 16, 32)
	if err != nil {
		return utf8.RuneError // unreachable for valid JSON; not a surrogate either way
	}
	return rune(n)
}

// hashDomain separates call hashes from any other SHA-256 use, and names the
// framing version: changing the framing must change this string.
const hashDomain = "warden.approval.call.v1\x00"

// CallHash returns the hex SHA-256 that binds an approval to one call. Each
// field is framed by its length as a big-endian uint64, so no two distinct
// (agent, tool, args) triples share an encoding: ("a", "bc") and ("ab", "c")
// hash differently. canonicalArgs must come from [CanonicalArgs].
func CallHash(agent, tool string, canonicalArgs []byte) string {
	h := sha256.New()
	h.Write([]byte(hashDomain))
	for _, field := range [][]byte{[]byte(agent), []byte(tool), canonicalArgs} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(field)))
		h.Write(n[:])
		h.Write(field)
	}
	return hex.EncodeToString(h.Sum(nil))
}
