package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/warden-dev/warden/internal/jsonesc"
)

// appendFields appends f as a JSON object, byte for byte as json.Marshal
// would write it (a test checks this), without reflection: this runs on
// every tool call. scratch is reused for the arguments.
func appendFields(b []byte, f *fields, scratch *bytes.Buffer) ([]byte, error) {
	b = append(b, `{"event":`...)
	b = jsonesc.AppendString(b, f.Event)
	b = appendOptString(b, `,"agent":`, f.Agent)
	b = appendOptString(b, `,"tool":`, f.Tool)
	b = appendOptString(b, `,"resource":`, f.Resource)
	b = appendOptString(b, `,"action":`, f.Action)
	b = appendOptString(b, `,"path":`, f.Path)
	if len(f.Args) > 0 {
		// As json.Marshal does for a RawMessage: validate, compact, and
		// escape <, > and & inside strings.
		scratch.Reset()
		if err := json.Compact(scratch, f.Args); err != nil {
			return b, fmt.Errorf("json: error calling MarshalJSON for type json.RawMessage: %w", err)
		}
		b = append(b, `,"args":`...)
		b = appendHTMLEscaped(b, scratch.Bytes())
	}
	b = appendOptString(b, `,"args_sha256":`, f.ArgsSHA256)
	if f.ArgsBytes != 0 {
		b = append(b, `,"args_bytes":`...)
		b = strconv.AppendInt(b, int64(f.ArgsBytes), 10)
	}
	if len(f.Blobs) > 0 {
		bl, err := json.Marshal(f.Blobs)
		if err != nil {
			return b, err
		}
		b = append(b, `,"blobs":`...)
		b = append(b, bl...)
	}
	b = appendOptString(b, `,"decision":`, f.Decision)
	b = appendOptString(b, `,"rule":`, f.Rule)
	if len(f.Reasons) > 0 {
		b = append(b, `,"reasons":[`...)
		for i, s := range f.Reasons {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonesc.AppendString(b, s)
		}
		b = append(b, ']')
	}
	b = appendOptString(b, `,"approval_id":`, f.ApprovalID)
	b = appendOptString(b, `,"outcome":`, f.Outcome)
	b = appendOptString(b, `,"error":`, f.Error)
	if f.ResultBytes != 0 {
		b = append(b, `,"result_bytes":`...)
		b = strconv.AppendInt(b, f.ResultBytes, 10)
	}
	if f.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	if f.DurationMS != 0 {
		b = append(b, `,"duration_ms":`...)
		var err error
		if b, err = appendFloat(b, f.DurationMS); err != nil {
			return b, err
		}
	}
	if len(f.Detail) > 0 {
		b = append(b, `,"detail":`...)
		var err error
		if b, err = appendDetail(b, f.Detail); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendDetail appends d as json.Marshal would: keys sorted, and values
// of the kinds records hold (strings, booleans, numbers, null) written
// directly; a map holding anything else is left to json.Marshal.
func appendDetail(b []byte, d map[string]any) ([]byte, error) {
	var keysBuf [8]string
	keys := keysBuf[:0]
	for k, v := range d {
		switch v.(type) {
		case nil, string, bool, int, int64, float64:
		default:
			m, err := json.Marshal(d)
			return append(b, m...), err
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonesc.AppendString(b, k)
		b = append(b, ':')
		switch v := d[k].(type) {
		case nil:
			b = append(b, "null"...)
		case string:
			b = jsonesc.AppendString(b, v)
		case bool:
			b = strconv.AppendBool(b, v)
		case int:
			b = strconv.AppendInt(b, int64(v), 10)
		case int64:
			b = strconv.AppendInt(b, v, 10)
		case float64:
			var err error
			if b, err = appendFloat(b, v); err != nil {
				return b, err
			}
		}
	}
	return append(b, '}'), nil
}

func appendOptString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, key...)
	return jsonesc.AppendString(b, s)
}

const hexDigits = "0123456789abcdef"

// appendHTMLEscaped appends compact JSON text with <, >, &, U+2028 and
// U+2029 escaped, as json.HTMLEscape does.
func appendHTMLEscaped(b, src []byte) []byte {
	start := 0
	for i, c := range src {
		if c == '<' || c == '>' || c == '&' {
			b = append(b, src[start:i]...)
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			start = i + 1
		}
		// U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
		if c == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&^1 == 0xA8 {
			b = append(b, src[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[src[i+2]&0xF])
			start = i + 3
		}
	}
	return append(b, src[start:]...)
}

// appendFloat appends f as encoding/json writes a float64.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, 64))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Shorten e-09 to e-9.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}
